package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/ctl"
)

// fakeDaemon serves a control socket in a temporary run dir: status
// answers st, every other request is recorded and answered by refuse
// (an error) or OK.
func fakeDaemon(t *testing.T, st ctl.Status, refuse string) (string, *[]ctl.Request) {
	t.Helper()
	dir := t.TempDir()
	srv, err := ctl.Listen(filepath.Join(dir, ctl.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var got []ctl.Request
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ctx, func(_ context.Context, req ctl.Request) ctl.Response {
			if req.Cmd == "status" {
				b, _ := json.Marshal(st)
				return ctl.Response{OK: true, Data: b}
			}
			got = append(got, req)
			if refuse != "" {
				return ctl.Response{Error: refuse}
			}
			return ctl.Response{OK: true}
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return dir, &got
}

func TestNodeAndGroupCommands(t *testing.T) {
	since := time.Date(2026, 12, 6, 1, 0, 0, 0, time.Local)
	st := ctl.Status{Started: since, Cluster: cluster.Status{Node: "node1", State: "active", InStandby: true,
		Peers: []cluster.PeerStatus{{Name: "node2", State: "active", Since: since, LastHeard: since}, {Name: "node3", State: "dead", InStandby: true}},
		Groups: []cluster.GroupStatus{{Key: "IPaddr2::10.0.0.5/24", Holder: "node2", State: "running", Disabled: false, MovedTo: "node2"},
			{Key: "IPaddr2::10.0.0.6/24", State: "stopped", Disabled: true}},
		Fences: []cluster.FenceWait{{Node: "node3", Since: since}}},
		GroupNames: map[string][]string{"IPaddr2::10.0.0.5/24": {"IPaddr2::10.0.0.5/24", "2", "httpd"}}}
	dir, reqs := fakeDaemon(t, st, "")
	tests := []struct {
		args []string
		code int
		out  []string
		req  string
	}{
		{[]string{"node", "list"}, 0, []string{"node1  standby         2026-12-06 01:00:00  (this node)", "node2  active ", "node3  dead (standby)  never", "waits for a fence of: node3"}, ""},
		{[]string{"node", "standby", "node2"}, 0, []string{"Node node2: standby."}, "node standby node2"},
		{[]string{"node", "online"}, 0, []string{"Node this node: online."}, "node online"},
		{[]string{"node", "fenced", "node3"}, 0, []string{"fenced, on your word"}, "node fenced node3"},
		{[]string{"group", "list"}, 0, []string{"IPaddr2::10.0.0.5/24  node2   running  moved-to:node2  2 httpd", "IPaddr2::10.0.0.6/24  -       stopped  disabled"}, ""},
		{[]string{"group", "disable", "httpd"}, 0, []string{"Group httpd: disable."}, "group disable httpd"},
		{[]string{"group", "move", "httpd", "node2"}, 0, []string{"Group httpd: move."}, "group move httpd node2"},
		{[]string{"group", "move"}, 2, nil, ""},
		{[]string{"group", "bogus", "x"}, 2, nil, ""},
		{[]string{"node", "fenced"}, 2, nil, ""},
	}
	for _, tt := range tests {
		*reqs = nil
		var out, errb bytes.Buffer
		args := append([]string{tt.args[0], "--run-dir", dir}, tt.args[1:]...)
		code := dispatch(args, &out, &errb)
		if code != tt.code {
			t.Errorf("hbd %s: exit %d, want %d (stderr %s)", strings.Join(tt.args, " "), code, tt.code, errb.String())
		}
		for _, want := range tt.out {
			if !strings.Contains(out.String(), want) {
				t.Errorf("hbd %s: output lacks %q:\n%s", strings.Join(tt.args, " "), want, out.String())
			}
		}
		got := ""
		if len(*reqs) == 1 {
			got = (*reqs)[0].Cmd + " " + strings.Join((*reqs)[0].Args, " ")
		}
		if got != tt.req {
			t.Errorf("hbd %s: request %q, want %q", strings.Join(tt.args, " "), got, tt.req)
		}
	}
}

func TestGroupCommandRefused(t *testing.T) {
	dir, _ := fakeDaemon(t, ctl.Status{}, "unknown resource group \"nginx\"\nresource groups (haresources line: names):\n  2: IPaddr2::10.0.0.5/24, 2, httpd")
	var out, errb bytes.Buffer
	if code := dispatch([]string{"group", "--run-dir", dir, "disable", "nginx"}, &out, &errb); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(errb.String(), "2: IPaddr2::10.0.0.5/24, 2, httpd") {
		t.Errorf("the error does not list the groups:\n%s", errb.String())
	}
}
