package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeepProcessName: a process named otherwise than its argv[0] is
// renamed, one named so is left alone, no name file is no error, and a
// name the kernel refuses to change is an error (the daemon must not run
// under a name the init script's stop would not find).
func TestKeepProcessName(t *testing.T) {
	want := filepath.Base(os.Args[0])
	if len(want) > commLen {
		want = want[:commLen]
	}
	dir := t.TempDir()
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		comm    string
		wantErr bool
		after   string // the name file's text after, "" not checked
	}{
		{"named otherwise: renamed", file("other", "hbd-etcd\n"), false, want},
		{"named so: left alone", file("same", want+"\n"), false, want + "\n"},
		{"no name file", filepath.Join(dir, "missing"), false, ""},
		// Read like comm, but the kernel refuses every write.
		{"rename refused", "/proc/self/stat", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := keepProcessName(tt.comm)
			if (err != nil) != tt.wantErr {
				t.Fatalf("keepProcessName(%s): %v, want an error: %v", tt.comm, err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "start-stop-daemon") {
				t.Errorf("error %q does not say what the name is for", err)
			}
			if tt.after == "" {
				return
			}
			if b, _ := os.ReadFile(tt.comm); string(b) != tt.after {
				t.Errorf("name file holds %q after, want %q", b, tt.after)
			}
		})
	}
}
