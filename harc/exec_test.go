package harc

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// A script the kernel will not execute (no "#!" line) runs through the
// shell, as Heartbeat's shell-based ResourceManager ran it; one with a
// "#!" line runs through its interpreter.
func TestScriptWithoutInterpreterLine(t *testing.T) {
	cases := []struct {
		name   string
		script string
		want   string
	}{
		{"comment instead of #!", "#/bin/bash\necho \"ran $1 $2\"\n", "ran a start"},
		{"no first line at all", "echo \"ran $1 $2\"\n", "ran a start"},
		{"with #!", "#!/bin/sh\necho \"sh $1 $2\"\n", "sh a start"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "nginx")
			if err := testenv.WriteExecutable(p, []byte(tc.script), 0o755); err != nil {
				t.Fatal(err)
			}
			res := Command{Path: p, Args: []string{"a", "start"}}.Run(context.Background())
			if !res.OK() {
				t.Fatalf("%s: %s (%v)", p, res.Describe(), res.Err)
			}
			if got := strings.TrimSpace(res.Stdout); got != tc.want {
				t.Errorf("stdout %q, want %q", got, tc.want)
			}
		})
	}
}
