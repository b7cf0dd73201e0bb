package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// TestGroupKeyNotASCII: a group whose key is UTF-8 beyond ASCII comes
// back through the control socket's JSON as it is written, in hbd
// status (the core's groups and the names each answers to) and in a
// command that names it (hbd group disable), which finds it; the key
// with a byte replaced, as JSON replaces bytes that are not UTF-8,
// names no group. (Load refuses a key that is not UTF-8:
// TestParseHaresourcesDiagnostics.)
func TestGroupKeyNotASCII(t *testing.T) {
	const key = "rec::café::日本"
	dir := testenv.WriteConfigDir(t, map[string]string{
		"ha.cf":          fmt.Sprintf("node node1\nkeepalive 1\ndeadtime 10\nudpport %d\nucast lo 127.0.0.1\nauto_failback on\nlogfacility none\n", testenv.FreeUDPPort(t)),
		"authkeys":       reloadFiles["authkeys"],
		"haresources":    "node1 " + key + "\n",
		"resource.d/rec": "#!/bin/sh\nexit 0\n",
	})
	runDir := t.TempDir()
	sock := filepath.Join(runDir, ctl.SocketName)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{ConfigDir: dir, Node: "node1", RunDir: runDir, StateDir: t.TempDir(), Load: reloadLoad, Stderr: io.Discard,
			Ready: func() { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	call := func(req ctl.Request) ctl.Response {
		t.Helper()
		resp, err := ctl.Call(ctx, sock, req)
		if err != nil {
			t.Fatalf("%v: %v", req, err)
		}
		return resp
	}
	status := func() ctl.Status {
		t.Helper()
		resp := call(ctl.Request{Cmd: "status"})
		var st ctl.Status
		if err := json.Unmarshal(resp.Data, &st); err != nil {
			t.Fatalf("status: %v", err)
		}
		return st
	}

	st := status()
	if len(st.Cluster.Groups) != 1 || st.Cluster.Groups[0].Key != key {
		t.Errorf("status's groups %+v, want the one keyed %q", st.Cluster.Groups, key)
	}
	if names, ok := st.GroupNames[key]; !ok || names[0] != key {
		t.Errorf("status's group names %q, want %q first under its own key", st.GroupNames, key)
	}

	mangled := strings.Replace(key, "é", "\uFFFD", 1)
	if resp := call(ctl.Request{Cmd: "group", Args: []string{"disable", mangled}}); resp.OK || !strings.Contains(resp.Error, "unknown resource group") {
		t.Errorf("group disable %q: %+v, want an unknown group", mangled, resp)
	}
	if resp := call(ctl.Request{Cmd: "group", Args: []string{"disable", key}}); !resp.OK {
		t.Fatalf("group disable %q: %s", key, resp.Error)
	}
	if sets := status().Cluster.Settings; !slices.ContainsFunc(sets, func(s cluster.Setting) bool { return s.Name == key }) {
		t.Errorf("after group disable %q the settings are %+v, none for it", key, sets)
	}
}
