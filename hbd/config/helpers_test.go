package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/resources/builtin"
)

// hbdAgents are the agents hbd is built with (OCF agents under
// /usr/lib/ocf), so that haresources is checked by the agents' own
// parsers as `hbd check` checks it.
var hbdAgents = builtin.Agents("")

// want is one expected diagnostic: its line, severity and a piece of its
// message.
type want struct {
	line int
	sev  Severity
	sub  string
}

func e(line int, sub string) want { return want{line, SevError, sub} }

// wantsError says whether ws expect an error (Load then returns no config).
func wantsError(ws []want) bool {
	for _, x := range ws {
		if x.sev == SevError {
			return true
		}
	}
	return false
}
func w(line int, sub string) want { return want{line, SevWarning, sub} }

// checkDiags asserts that got holds exactly the wanted diagnostics (each
// matched once, in any order) and nothing else.
func checkDiags(t *testing.T, got []Diag, wants []want) {
	t.Helper()
	used := make([]bool, len(got))
	var missing []string
	for _, wn := range wants {
		found := false
		for i, d := range got {
			if !used[i] && d.Pos.Line == wn.line && d.Severity == wn.sev && strings.Contains(d.Msg, wn.sub) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			kind := "error"
			if wn.sev == SevWarning {
				kind = "warning"
			}
			missing = append(missing, fmt.Sprintf("line %d %s containing %q", wn.line, kind, wn.sub))
		}
	}
	var extra []string
	for i, d := range got {
		if !used[i] {
			extra = append(extra, d.String())
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		var all []string
		for _, d := range got {
			all = append(all, "  "+d.String())
		}
		t.Errorf("diagnostics mismatch\nmissing: %q\nunexpected: %q\ngot:\n%s", missing, extra, strings.Join(all, "\n"))
	}
}
