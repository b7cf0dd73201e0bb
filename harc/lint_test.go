package harc

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/paths"
)

func TestLintFile(t *testing.T) {
	cases := []struct {
		name   string
		script string // "" with fifo: a named pipe
		mode   os.FileMode
		fifo   bool
		want   []string // substrings, one per expected warning, in order
	}{
		{name: "clean sh", script: "#!/bin/sh\necho hi\n", mode: 0o755},
		{name: "clean env sh", script: "#!/usr/bin/env sh\necho hi\n", mode: 0o755},
		{name: "not a shell", script: "#!/usr/bin/python3\nif (:\n", mode: 0o755},
		{name: "no #!", script: "#/bin/bash\necho hi\n", mode: 0o755,
			want: []string{`has no #! line (first line "#/bin/bash"): hbd runs it through /bin/sh as Heartbeat did; fix: make its first line #!/bin/sh`}},
		{name: "not executable", script: "#!/bin/sh\necho hi\n", mode: 0o644,
			want: []string{"is not executable; fix: chmod 755"}},
		{name: "syntax error", script: "#!/bin/sh\nif true; then\n", mode: 0o755,
			want: []string{"fails `/bin/sh -n` (does not parse)"}},
		{name: "no #! and syntax error", script: "case x in\n", mode: 0o755,
			want: []string{"has no #! line", "fails `/bin/sh -n`"}},
		{name: "empty #!", script: "#!\necho\n", mode: 0o755, want: []string{"its #! line names no interpreter"}},
		{name: "fifo", fifo: true, want: []string{"is not a regular file"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "nginx")
			if tc.fifo {
				if err := syscall.Mkfifo(p, 0o755); err != nil {
					t.Skipf("mkfifo: %v", err)
				}
			} else if err := os.WriteFile(p, []byte(tc.script), tc.mode); err != nil {
				t.Fatal(err)
			}
			got := lintFile(context.Background(), p)
			if len(got) != len(tc.want) {
				t.Fatalf("warnings %q, want %d like %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) || !strings.Contains(got[i], p) {
					t.Errorf("warning %d = %q, want it to name %s and say %q", i, got[i], p, w)
				}
			}
		})
	}
}

// LintScripts looks at the resource scripts a configuration resolved, the
// rc.d hooks, and a file passed over for a built-in agent.
func TestLintScripts(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, body string, mode os.FileMode) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	nginx := write(filepath.Join(paths.ResourceDir, "nginx"), "#/bin/bash\necho\n", 0o755)
	shadow := write(filepath.Join(paths.ResourceDir, "IPaddr2"), "#!/bin/sh\n", 0o644)
	hook := write(filepath.Join(paths.RcDir, "status"), "#!/bin/sh\nfi\n", 0o755)
	pos := config.Pos{File: filepath.Join(dir, config.HaresourcesFile), Line: 1}
	cfg := &config.Config{Dir: dir, Groups: []config.Group{{Pos: pos, Resources: []config.Resource{
		{Name: "IPaddr2", Script: config.Script{Kind: config.ScriptBuiltin, Name: "IPaddr2"}},
		{Name: "nginx", Script: config.Script{Kind: config.ScriptFile, Path: nginx}},
	}}}}
	ds := LintScripts(context.Background(), cfg, filepath.Join(dir, "init.d"))
	want := []string{shadow + " is not an executable file, so hbd's built-in agent IPaddr2 runs instead", nginx + " has no #! line", hook + " fails"}
	if len(ds) != len(want) {
		t.Fatalf("diags %v, want %d", ds, len(want))
	}
	for i, w := range want {
		if ds[i].Severity != config.SevWarning || !strings.Contains(ds[i].Msg, w) {
			t.Errorf("diag %d = %v, want a warning saying %q", i, ds[i], w)
		}
	}
}
