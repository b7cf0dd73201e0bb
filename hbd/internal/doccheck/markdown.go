// Package doccheck reads the project's documentation (Markdown pages and
// man pages) so that tests can hold it against the code: the directives
// the config parser knows, the defaults it applies, the commands and flags
// the CLI takes, the files a page links. It only parses; the checks live
// in the tests of this package and of package main (hbd/).
package doccheck

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Block is one fenced code block of a Markdown page.
type Block struct {
	Info   string // the fence's info string ("sh", "json", "")
	Marker string // the HTML comment on the line just before the fence, without <!-- -->
	Body   string // the lines between the fences, each ending in "\n"
	Line   int    // 1-based line of the opening fence
}

// Blocks returns the fenced code blocks of a Markdown text, in order.
// Fences are ``` or ~~~ (three or more), possibly indented, as in a list.
func Blocks(md string) []Block {
	lines := strings.Split(md, "\n")
	var out []Block
	for i := 0; i < len(lines); i++ {
		fence, info, ok := openFence(lines[i])
		if !ok {
			continue
		}
		b := Block{Info: info, Line: i + 1}
		if i > 0 {
			b.Marker = htmlComment(lines[i-1])
		}
		var body strings.Builder
		indent := len(lines[i]) - len(strings.TrimLeft(lines[i], " "))
		j := i + 1
		for ; j < len(lines); j++ {
			if strings.HasPrefix(strings.TrimSpace(lines[j]), fence) && strings.Trim(strings.TrimSpace(lines[j]), fence[:1]) == "" {
				break
			}
			l := lines[j]
			if len(l)-len(strings.TrimLeft(l, " ")) >= indent {
				l = l[indent:]
			}
			body.WriteString(l + "\n")
		}
		b.Body = body.String()
		out = append(out, b)
		i = j
	}
	return out
}

func openFence(line string) (fence, info string, ok bool) {
	t := strings.TrimSpace(line)
	for _, c := range []string{"```", "~~~"} {
		if strings.HasPrefix(t, c) {
			n := len(t) - len(strings.TrimLeft(t, c[:1]))
			return t[:n], strings.TrimSpace(t[n:]), true
		}
	}
	return "", "", false
}

// htmlComment returns the text of a line that is one HTML comment, or "".
func htmlComment(line string) string {
	t := strings.TrimSpace(line)
	if !strings.HasPrefix(t, "<!--") || !strings.HasSuffix(t, "-->") {
		return ""
	}
	return strings.TrimSpace(t[4 : len(t)-3])
}

// Prose returns the text outside fenced code blocks, with the blocks'
// lines blanked so that line numbers stay right.
func Prose(md string) string {
	lines := strings.Split(md, "\n")
	inFence := ""
	for i, l := range lines {
		if inFence != "" {
			t := strings.TrimSpace(l)
			if strings.HasPrefix(t, inFence) && strings.Trim(t, inFence[:1]) == "" {
				inFence = ""
			}
			lines[i] = ""
			continue
		}
		if f, _, ok := openFence(l); ok {
			inFence = f
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

var inlineCode = regexp.MustCompile("`([^`\n]+)`")

// InlineCode returns the contents of the `code` spans outside fenced
// blocks, with their line numbers.
func InlineCode(md string) []Located {
	var out []Located
	for i, l := range strings.Split(Prose(md), "\n") {
		for _, m := range inlineCode.FindAllStringSubmatch(l, -1) {
			out = append(out, Located{Text: m[1], Line: i + 1})
		}
	}
	return out
}

// Located is a piece of text and the 1-based line it is on.
type Located struct {
	Text string
	Line int
}

var mdLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// Links returns the targets of the inline links [text](target) outside
// fenced blocks.
func Links(md string) []Located {
	var out []Located
	for i, l := range strings.Split(Prose(md), "\n") {
		for _, m := range mdLink.FindAllStringSubmatch(l, -1) {
			out = append(out, Located{Text: m[1], Line: i + 1})
		}
	}
	return out
}

// Anchors returns the anchors GitHub gives the headings of a page: lower
// case, punctuation other than '-' and '_' dropped, spaces as '-'; a
// repeated heading gets -1, -2, ...
func Anchors(md string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, l := range strings.Split(Prose(md), "\n") {
		if !strings.HasPrefix(l, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(l, "#"))
		if h == "" || !strings.HasPrefix(strings.TrimLeft(l, "#"), " ") {
			continue
		}
		a := Slug(h)
		if n := seen[a]; n > 0 {
			out[a+"-"+strconv.Itoa(n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

// Slug is GitHub's anchor for a heading text.
func Slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Section returns the part of a Markdown page under the heading whose
// text is title (any level), up to the next heading of the same or a
// higher level; "" when there is no such heading.
func Section(md, title string) string {
	lines := strings.Split(md, "\n")
	prose := strings.Split(Prose(md), "\n")
	level := 0
	var out []string
	for i, l := range prose {
		if strings.HasPrefix(l, "#") {
			n := len(l) - len(strings.TrimLeft(l, "#"))
			h := strings.TrimSpace(l[n:])
			if level > 0 && n <= level {
				break
			}
			if level == 0 && h == title {
				level = n
				continue
			}
		}
		if level > 0 {
			out = append(out, lines[i])
		}
	}
	return strings.Join(out, "\n")
}

// TableRows returns the rows of the first Markdown table in text, each as
// its cells (trimmed), without the header row and the separator.
func TableRows(text string) [][]string {
	var rows [][]string
	started := false
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if !strings.HasPrefix(t, "|") {
			if started {
				break
			}
			continue
		}
		started = true
		rows = append(rows, splitRow(t))
	}
	if len(rows) < 2 {
		return nil
	}
	return rows[2:]
}

// splitRow splits "| a | b \| c | `x|y` |" into cells, keeping escaped
// pipes and pipes inside code spans.
func splitRow(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(row, "|")
	row = strings.TrimSuffix(row, "|")
	var cells []string
	var cur strings.Builder
	inCode := false
	for i := 0; i < len(row); i++ {
		c := row[i]
		switch {
		case c == '\\' && i+1 < len(row) && row[i+1] == '|':
			cur.WriteByte('|')
			i++
		case c == '`':
			inCode = !inCode
			cur.WriteByte(c)
		case c == '|' && !inCode:
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// CodeSpans returns the contents of the `code` spans of one line of text.
func CodeSpans(s string) []string {
	var out []string
	for _, m := range inlineCode.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}
