package doccheck

import (
	"reflect"
	"testing"
)

func TestUnsaid(t *testing.T) {
	phrases := []string{"a pid or lock file that is not a file", "a scripts directory not owned by root"}
	tests := []struct {
		name, text string
		unsaid     []string
	}{
		{"both, on one line", "6: a pid or lock file that is not a file, a scripts directory not owned by root.", nil},
		{"across lines and code spans", "a pid or lock\n  file that is not a file; a `scripts` directory not\nowned by root", nil},
		{"one missing", "a pid or lock file that is not a file", phrases[1:]},
		{"a word changed", "a pid file that is not a file; a scripts directory not owned by root", phrases[:1]},
		{"only within a longer word", "xa pid or lock file that is not a files; a scripts directory not owned by rooted", phrases},
		{"nothing", "", phrases},
	}
	for _, tt := range tests {
		if got := Unsaid(tt.text, phrases); !reflect.DeepEqual(got, tt.unsaid) {
			t.Errorf("%s: Unsaid = %q, want %q", tt.name, got, tt.unsaid)
		}
	}
}
