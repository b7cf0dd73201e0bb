package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/config"
)

// groupNamesHaresources has lines that differ from the groups' numbers: a
// comment, a `#hbd name` line, a blank line and a continuation come
// before the groups. Line 7 is the third group's line, number 7 is none.
const groupNamesHaresources = `# the web group
node1 web::8080 svc::a
#hbd name validator

node2 peer \
    svc::b
node2 db svc::c shared
node1 cache svc::d shared
`

// TestGroupNamesAgree: every place that names a group reads a name the
// same way, through config.FindGroupIn: ha.cf's exclusive lines and
// monitor group=, hbd harc, and Config.FindGroup (what the daemon uses
// for hbd group and hbd cleanup). A number is the group's position among
// the groups, never its line.
func TestGroupNamesAgree(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "resource.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"web", "peer", "db", "cache", "svc", "shared"} {
		if err := os.WriteFile(filepath.Join(dir, "resource.d", n), []byte("#!/bin/sh\necho stopped\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("authkeys", "auth 1\n1 sha1 groupNamesSecret-0123456789\n")
	write("haresources", groupNamesHaresources)
	const hacf = "keepalive 1\ndeadtime 5\nucast lo 127.0.0.2\nauto_failback on\nnode node1\nnode node2\n"

	tests := []struct {
		name string
		key  string // the group named; "" for an error
		err  string // part of the error
	}{
		{name: "web::8080", key: "web::8080"},
		{name: "1", key: "web::8080"},
		{name: "2", key: "peer"},
		{name: "3", key: "db"},
		{name: "4", key: "cache"},
		{name: "validator", key: "peer"},
		{name: "web", key: "web::8080"},
		{name: "svc::c", key: "db"},
		{name: "5", err: "there is no group 5: haresources has 4 groups"},
		{name: "7", err: "there is no group 7"},
		{name: "shared", err: `"shared" is in more than one resource group`},
		{name: "svc", err: `"svc" is in more than one resource group`},
		{name: "nginx", err: `unknown resource group "nginx"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			other := "cache"
			if tt.key == "cache" {
				other = "web::8080"
			}
			number := strings.Trim(tt.name, "0123456789") == ""

			// ha.cf: an exclusive line and a monitor line's group=.
			for _, line := range []string{"exclusive " + tt.name + " " + other, "monitor svc group=" + tt.name} {
				write("ha.cf", hacf+line+"\n")
				cfg, diags := config.Load(dir, config.LoadOptions{Node: "node1"})
				var got string
				switch {
				case cfg == nil:
					got = "error: " + diagText(diags)
				case strings.HasPrefix(line, "exclusive"):
					got = cfg.Exclusive[0][0]
				default:
					got = cfg.Monitors[0].Group
				}
				checkNamed(t, line, got, tt.key, tt.err)
				if warned := strings.Contains(diagText(diags), "names a group by its number"); tt.key != "" && warned != number {
					t.Errorf("%s: warning about a number %v, want %v: %s", line, warned, number, diagText(diags))
				}
			}

			// What the daemon resolves hbd group and hbd cleanup with.
			write("ha.cf", hacf)
			cfg, diags := config.Load(dir, config.LoadOptions{Node: "node1"})
			if cfg == nil {
				t.Fatalf("config: %s", diagText(diags))
			}
			g, err := cfg.FindGroup(tt.name)
			got := g.Key()
			if err != nil {
				got = "error: " + err.Error()
			}
			checkNamed(t, "FindGroup", got, tt.key, tt.err)

			// hbd harc status NAME.
			rc, out, errOut := harcRun("-c", dir, "--node", "node1", "status", tt.name)
			got, _, _ = strings.Cut(out, " (preferred node")
			if rc != 0 {
				got = "error: " + errOut
			}
			checkNamed(t, "hbd harc status", got, tt.key, tt.err)
		})
	}
}

func checkNamed(t *testing.T, where, got, key, errPart string) {
	t.Helper()
	switch {
	case key != "" && got != key:
		t.Errorf("%s: named %q, want group %s", where, got, key)
	case key == "" && (!strings.HasPrefix(got, "error: ") || !strings.Contains(got, errPart)):
		t.Errorf("%s: %q, want an error saying %q", where, got, errPart)
	}
}

func diagText(ds []config.Diag) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.String())
	}
	return strings.Join(s, "\n")
}
