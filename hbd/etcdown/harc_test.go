package etcdown

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/config"
)

// TestHarcRunnerToken: the group's scripts see the token of the
// operation, on start and on stop.
func TestHarcRunnerToken(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "ha.d")
	out := filepath.Join(root, "tokens")
	script := filepath.Join(dir, "resource.d", "rec")
	if err := os.MkdirAll(filepath.Dir(script), 0o755); err != nil {
		t.Fatal(err)
	}
	body := "#!/bin/sh\ncase \"$1\" in start|stop) echo \"$1 $HA_FENCING_TOKEN\" >> " + out + ";; status) exit 3;; esac\nexit 0\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	h, err := harc.New(harc.Options{
		ConfigDir: dir, Node: "n1", Timeout: 5 * time.Second,
		RscTmp: filepath.Join(root, "rsctmp"), StateDir: filepath.Join(root, "state"),
	})
	if err != nil {
		t.Fatal(err)
	}
	g := config.Group{Preferred: "n1", Resources: []config.Resource{{
		Spec: "rec", Name: "rec", Script: config.Script{Kind: config.ScriptFile, Path: script},
	}}}
	r := NewHarcRunner(h, []config.Group{g})
	ctx := context.Background()
	if err := r.Start(ctx, "rec", 17); err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(ctx, "rec", 17); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx, "nosuch", 1); err == nil {
		t.Error("start of a group not in haresources: no error")
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(b)), "start 17\nstop 17"; got != want {
		t.Errorf("scripts saw %q, want %q", got, want)
	}
}
