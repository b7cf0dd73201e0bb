package doccheck

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Unsaid returns the phrases that text does not say, in their order: a
// phrase is said when it appears in text as whole words, with any run of
// white space (a line break of the source, a man page's lines joined)
// for each space and Markdown's code spans shown as their plain words
// (`scripts` says scripts).
func Unsaid(text string, phrases []string) []string {
	norm := func(s string) string {
		return strings.Join(strings.Fields(strings.ReplaceAll(s, "`", "")), " ")
	}
	t := norm(text)
	var out []string
	for _, p := range phrases {
		if !saysWords(t, norm(p)) {
			out = append(out, p)
		}
	}
	return out
}

// saysWords reports whether p occurs in t with no letter or digit right
// before or after it.
func saysWords(t, p string) bool {
	if p == "" {
		return true
	}
	for from := 0; ; {
		i := strings.Index(t[from:], p)
		if i < 0 {
			return false
		}
		i += from
		before, _ := utf8.DecodeLastRuneInString(t[:i])
		after, _ := utf8.DecodeRuneInString(t[i+len(p):])
		if !wordRune(before) && !wordRune(after) {
			return true
		}
		from = i + 1
	}
}

func wordRune(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
}
