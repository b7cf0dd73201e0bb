package doccheck

import (
	"regexp"
	"strings"
)

// The headings and man sections that document ha.cf's directives.
const (
	ActsOnHeading  = "Directives hbd acts on"
	IgnoredHeading = "Directives hbd accepts but ignores"
	ManDirectives  = "DIRECTIVES"
	ManIgnored     = "Directives read but ignored"
)

// ConfigMDDirectives reads docs/config.md: the directives of the table
// under "Directives hbd acts on" and of the one under "Directives hbd
// accepts but ignores", by the first word of each code span of a row's
// first cell (`crm off` / `pacemaker off` names two).
func ConfigMDDirectives(md string) (acted, ignored []string) {
	return tableDirectives(Section(md, ActsOnHeading)), tableDirectives(Section(md, IgnoredHeading))
}

func tableDirectives(section string) []string {
	var out []string
	for _, row := range TableRows(section) {
		for _, span := range CodeSpans(row[0]) {
			if f := strings.Fields(span); len(f) > 0 {
				out = append(out, f[0])
			}
		}
	}
	return out
}

// directiveWord is what a directive's name looks like.
var directiveWord = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// HaCf5Directives reads ha.cf(5): the directives that head a .TP
// paragraph of DIRECTIVES (outside the subsection of ignored ones; a tag
// "ping IP..., ping6 IP6..." names two), and those listed in the first
// sentence of that subsection after "act on them:" (parenthesized
// remarks left out).
func HaCf5Directives(roff string) (acted, ignored []string) {
	lines := ManLines(roff)
	section := ManSection(lines, ManDirectives)
	for _, tag := range Tags(Without(section, ManIgnored)) {
		for _, part := range strings.Split(tag, ", ") {
			if f := strings.Fields(part); len(f) > 0 && directiveWord.MatchString(f[0]) {
				acted = append(acted, f[0])
			}
		}
	}
	text := Text(ManSubsection(section, ManIgnored))
	_, list, ok := strings.Cut(text, "act on them:")
	if !ok {
		return acted, nil
	}
	if end := strings.Index(list, ". "); end >= 0 {
		list = list[:end]
	}
	list = strings.TrimSuffix(strings.TrimSpace(list), ".")
	list = regexp.MustCompile(`\([^)]*\)`).ReplaceAllString(list, "")
	for _, item := range strings.Split(list, ",") {
		f := strings.Fields(item)
		if len(f) == 0 {
			continue
		}
		if w := f[len(f)-1]; directiveWord.MatchString(w) {
			ignored = append(ignored, w)
		}
	}
	return acted, ignored
}

// ConfigMDDefault returns the default cell of a directive's row in the
// table under "Directives hbd acts on" of docs/config.md; ok is false
// when no row documents it.
func ConfigMDDefault(md, directive string) (string, bool) {
	for _, row := range TableRows(Section(md, ActsOnHeading)) {
		if len(row) < 2 {
			continue
		}
		for _, span := range CodeSpans(row[0]) {
			if f := strings.Fields(span); len(f) > 0 && f[0] == directive {
				return row[1], true
			}
		}
	}
	return "", false
}

// HaCf5Paragraph returns the text of the .TP paragraph of ha.cf(5) that
// documents a directive; ok is false when there is none.
func HaCf5Paragraph(roff, directive string) (string, bool) {
	for tag, body := range Paragraphs(ManSection(ManLines(roff), ManDirectives)) {
		for _, part := range strings.Split(tag, ", ") {
			if f := strings.Fields(part); len(f) > 0 && f[0] == directive && body != "" {
				return body, true
			}
		}
	}
	return "", false
}
