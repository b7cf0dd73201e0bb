package doccheck

import (
	"regexp"
	"strings"
)

// ManLine is one line of a man page: its request (".TP", ".B"; "" for a
// text line) and its text as a reader sees it, fonts and escapes removed.
type ManLine struct {
	Request string
	Text    string
}

// ManLines reads a man page written with the man(7) macros.
func ManLines(roff string) []ManLine {
	var out []ManLine
	for _, raw := range strings.Split(roff, "\n") {
		if strings.HasPrefix(raw, `.\"`) || strings.HasPrefix(raw, `'\"`) {
			continue
		}
		if !strings.HasPrefix(raw, ".") {
			out = append(out, ManLine{Text: unescape(raw)})
			continue
		}
		req, rest, _ := strings.Cut(raw, " ")
		args := roffArgs(rest)
		sep := ""
		switch req {
		case ".B", ".I", ".SM", ".SB", ".SH", ".SS", ".TH":
			sep = " "
		}
		out = append(out, ManLine{Request: req, Text: unescape(strings.Join(args, sep))})
	}
	return out
}

// roffArgs splits a request's arguments: words, or "quoted words".
func roffArgs(s string) []string {
	var args []string
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return args
		}
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return append(args, s[1:])
			}
			args = append(args, s[1:1+end])
			s = s[end+2:]
			continue
		}
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			return append(args, s)
		}
		args = append(args, s[:end])
		s = s[end:]
	}
}

var fontEscape = regexp.MustCompile(`\\f(\[[^]]*\]|\(..|.)`)

// unescape turns roff escapes into the characters a reader sees.
func unescape(s string) string {
	s = fontEscape.ReplaceAllString(s, "")
	r := strings.NewReplacer(`\-`, "-", `\(en`, "–", `\(em`, "—", `\~`, " ", `\&`, "", `\e`, `\`, `\ `, " ", `\(aq`, "'")
	return r.Replace(s)
}

// ManSection returns the lines of the section .SH name (up to the next
// .SH), or nil.
func ManSection(lines []ManLine, name string) []ManLine {
	return between(lines, ".SH", name, map[string]bool{".SH": true})
}

// ManSubsection returns the lines of the subsection .SS name (up to the
// next .SS or .SH), or nil.
func ManSubsection(lines []ManLine, name string) []ManLine {
	return between(lines, ".SS", name, map[string]bool{".SH": true, ".SS": true})
}

func between(lines []ManLine, req, name string, stop map[string]bool) []ManLine {
	for i, l := range lines {
		if l.Request != req || !strings.EqualFold(strings.TrimSpace(l.Text), name) {
			continue
		}
		j := i + 1
		for j < len(lines) && !stop[lines[j].Request] {
			j++
		}
		return lines[i+1 : j]
	}
	return nil
}

// Without returns lines minus the subsection .SS name (up to the next .SS
// or .SH).
func Without(lines []ManLine, name string) []ManLine {
	var out []ManLine
	skip := false
	for _, l := range lines {
		switch {
		case l.Request == ".SS" && strings.EqualFold(strings.TrimSpace(l.Text), name):
			skip = true
			continue
		case l.Request == ".SS" || l.Request == ".SH":
			skip = false
		}
		if !skip {
			out = append(out, l)
		}
	}
	return out
}

// Tags returns the tag lines of the .TP paragraphs among lines: the line
// after each .TP, as text.
func Tags(lines []ManLine) []string {
	var out []string
	for i, l := range lines {
		if l.Request == ".TP" && i+1 < len(lines) {
			out = append(out, lines[i+1].Text)
		}
	}
	return out
}

// Paragraphs returns the body of each .TP paragraph among lines, keyed by
// its tag: the text up to the next .TP, .PP, .SS or .SH, joined by spaces.
func Paragraphs(lines []ManLine) map[string]string {
	out := map[string]string{}
	for i := 0; i < len(lines); i++ {
		if lines[i].Request != ".TP" || i+1 >= len(lines) {
			continue
		}
		tag := lines[i+1].Text
		var body []string
		j := i + 2
		for ; j < len(lines); j++ {
			switch lines[j].Request {
			case ".TP", ".PP", ".SS", ".SH", ".P", ".LP":
			default:
				if lines[j].Request != ".PD" {
					body = append(body, lines[j].Text)
				}
				continue
			}
			break
		}
		out[tag] = strings.Join(body, " ")
		i = j - 1
	}
	return out
}

// Text joins lines into one string, a space between lines.
func Text(lines []ManLine) string {
	parts := make([]string, 0, len(lines))
	for _, l := range lines {
		if l.Request == ".PD" || l.Request == ".TP" || l.Request == ".PP" || l.Request == ".br" {
			continue
		}
		parts = append(parts, l.Text)
	}
	return strings.Join(parts, " ")
}

// Synopsis returns the entries of the SYNOPSIS section, one per command
// form (the section's .br breaks separate them), as text.
func Synopsis(lines []ManLine) []string {
	var out []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, " "))
			cur = nil
		}
	}
	for _, l := range ManSection(lines, "SYNOPSIS") {
		if l.Request == ".br" {
			flush()
			continue
		}
		if t := strings.TrimSpace(l.Text); t != "" {
			cur = append(cur, t)
		}
	}
	flush()
	return out
}
