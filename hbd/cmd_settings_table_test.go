package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hbdproject/hbd/hbd/ctl"
)

// TestSettingsCommandLine: hbd settings lists what the daemon answers,
// marks and counts the settings of names the configuration lacks, and
// sends clear KIND NAME and clear --unconfigured as the daemon takes
// them; bad arguments are usage errors, a refusal exit 1.
func TestSettingsCommandLine(t *testing.T) {
	rows := []ctl.SettingRow{
		{Kind: "disabled", Name: "IPaddr2::10.0.0.5/24", Value: "1", Version: 3, Origin: "node1", Configured: true},
		{Kind: "disabled", Name: `"junk\x1b[2J"`, Value: "1", Version: 0x100000007, Origin: "node3"},
		{Kind: "standby", Name: "ghost", Value: "", Version: 9, Origin: "node2"},
	}
	dir := t.TempDir()
	srv, err := ctl.Listen(filepath.Join(dir, ctl.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu  sync.Mutex
		got []string
	)
	sent := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ctx, func(_ context.Context, req ctl.Request) ctl.Response {
			mu.Lock()
			got = append(got, req.Cmd+" "+strings.Join(req.Args, " "))
			mu.Unlock()
			switch {
			case req.Cmd != "settings":
				return ctl.Response{Error: "unexpected " + req.Cmd}
			case req.Args[0] == "list":
				b, _ := json.Marshal(rows)
				return ctl.Response{OK: true, Data: b}
			case req.Args[0] == "clear-unconfigured":
				b, _ := json.Marshal(rows[1:2])
				return ctl.Response{OK: true, Data: b}
			case len(req.Args) == 3 && req.Args[2] == "refused":
				return ctl.Response{Error: "settings clear: no setting disabled \"refused\" in force here"}
			}
			return ctl.Response{OK: true}
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	for _, tt := range []struct {
		args []string
		code int
		out  []string
		req  string
	}{
		{[]string{"list"}, 0, []string{"KIND      NAME", "IPaddr2::10.0.0.5/24  1          3           node1   configured",
			`"junk\x1b[2J"`, "4294967303", "not configured", "(cleared)",
			"1 setting(s) in force of names this configuration lacks: hbd settings clear KIND NAME, or clear --unconfigured"}, "settings list"},
		{nil, 0, []string{"not configured"}, "settings list"},
		{[]string{"clear", "disabled", `"junk\x1b[2J"`}, 0, []string{`Setting disabled "junk\x1b[2J": cleared.`}, `settings clear disabled "junk\x1b[2J"`},
		{[]string{"clear", "--unconfigured"}, 0, []string{`Setting disabled "junk\x1b[2J": cleared.`}, "settings clear-unconfigured"},
		{[]string{"clear", "disabled", "refused"}, 1, []string{"no setting disabled"}, "settings clear disabled refused"},
		{[]string{"clear", "disabled"}, 2, []string{"bad arguments"}, ""},
		{[]string{"clear", "--unconfigured", "disabled", "x"}, 2, []string{"bad arguments"}, ""},
		{[]string{"list", "--unconfigured"}, 2, []string{"bad arguments"}, ""},
	} {
		mu.Lock()
		got = nil
		mu.Unlock()
		var out, errOut bytes.Buffer
		code := runSettings(append([]string{"--run-dir", dir}, tt.args...), &out, &errOut)
		all := out.String() + errOut.String()
		if code != tt.code {
			t.Errorf("settings %q: exit %d, want %d:\n%s", tt.args, code, tt.code, all)
		}
		for _, w := range tt.out {
			if !strings.Contains(all, w) {
				t.Errorf("settings %q: output lacks %q:\n%s", tt.args, w, all)
			}
		}
		if got := sent(); tt.req == "" && len(got) > 0 || tt.req != "" && (len(got) != 1 || got[0] != tt.req) {
			t.Errorf("settings %q sent %q, want %q", tt.args, got, tt.req)
		}
	}
}
