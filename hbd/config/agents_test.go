package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestParseHaresourcesAgentSyntax covers the syntax of the service and
// OCF built-in agents.
func TestParseHaresourcesAgentSyntax(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []want
	}{
		{"service", "node1 service::peer\n", nil},
		{"service unit with suffix", "node1 service::docker-compose@peer.service\n", nil},
		{"service no unit", "node1 IPaddr::10.0.0.1 service\n", []want{e(1, "service takes one argument")}},
		{"service two args", "node1 service::a::b\n", []want{e(1, "service takes one argument")}},
		{"service option-like", "node1 service::--now\n", []want{e(1, "starts with `-`")}},
		{"ocf", "node1 ocf:heartbeat:IPaddr2::ip=10.0.0.5::cidr_netmask=24\n", nil},
		{"ocf no params", "node1 ocf:heartbeat:Dummy\n", nil},
		{"ocf ipv6 value", "node1 ocf:heartbeat:IPaddr2::ip=fd00::5::cidr_netmask=64\n", nil},
		{"ocf missing type", "node1 ocf:heartbeat\n", []want{e(1, "needs a provider and a type")}},
		{"ocf bad provider", "node1 ocf:..:Dummy\n", []want{e(1, `provider ".." is not a name`)}},
		{"ocf positional", "node1 ocf:heartbeat:IPaddr2::10.0.0.5\n", []want{e(1, `"10.0.0.5" is not NAME=VALUE`)}},
		{"ocf duplicate", "node1 ocf:heartbeat:Dummy::state=/a::state=/b\n", []want{e(1, "parameter state is given twice")}},
		{"ocf empty arg", "node1 ocf:heartbeat:Dummy::\n", []want{e(1, "argument 1 is empty")}},
		{"ocf as group key twice", "node1 ocf:heartbeat:Dummy\nnode2 ocf:heartbeat:Dummy\n", []want{e(2, "defined twice")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := ParseHaresources("haresources", strings.NewReader(tt.in))
			checkDiags(t, got, tt.want)
		})
	}
}

func TestResolveAgents(t *testing.T) {
	root := t.TempDir()
	agents := filepath.Join(root, "resource.d", "heartbeat")
	if err := os.MkdirAll(agents, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]os.FileMode{"Dummy": 0o755, "Plain": 0o644} {
		if err := os.WriteFile(filepath.Join(agents, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir() // an ha.d without resource.d
	initDir := t.TempDir()
	all := Lookup{InitDir: initDir, OCFRoot: root, Builtins: []string{"IPaddr2", "service", OCFBuiltin}}
	for _, tc := range []struct {
		lookup        Lookup
		name, want    string
		wantErr       string
		withInitScrip bool
	}{
		{lookup: all, name: "service", want: "builtin:service"},
		{lookup: all, name: "service", want: filepath.Join(initDir, "service"), withInitScrip: true},
		{lookup: all, name: "ocf:heartbeat:Dummy", want: "builtin:ocf:" + filepath.Join(agents, "Dummy")},
		{lookup: all, name: "ocf:heartbeat:Plain", wantErr: "is not executable (chmod 755 " + filepath.Join(agents, "Plain") + ")"},
		{lookup: all, name: "ocf:heartbeat:Missing", wantErr: filepath.Join(agents, "Missing") + " does not exist"},
		{lookup: all, name: "ocf:nope:Dummy", wantErr: "does not exist"},
		{lookup: Lookup{InitDir: initDir, OCFRoot: root}, name: "ocf:heartbeat:Dummy", wantErr: "cannot run OCF agents"},
		{lookup: Lookup{InitDir: initDir}, name: "service", wantErr: "cannot locate resource script service"},
	} {
		p := filepath.Join(initDir, "service")
		os.Remove(p)
		if tc.withInitScrip {
			if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		got, err := tc.lookup.Resolve(dir, tc.name)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Resolve(%s) with builtins %v = %q, %v; want error containing %q", tc.name, tc.lookup.Builtins, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if !slices.Contains(all.Builtins, OCFBuiltin) {
		t.Fatal("test setup")
	}
}

// TestLoadAgents: a whole configuration with both agents loads, and a
// missing OCF agent is an error at its haresources line.
func TestLoadAgents(t *testing.T) {
	root := t.TempDir()
	agents := filepath.Join(root, "resource.d", "heartbeat")
	if err := os.MkdirAll(agents, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(agents, "IPaddr2"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	lookup := Lookup{InitDir: t.TempDir(), OCFRoot: root, Builtins: []string{"service", OCFBuiltin}}
	opts := LoadOptions{Node: "node1", Lookup: lookup, Interfaces: func() ([]string, error) { return []string{"lo"}, nil }}
	files := map[string]string{
		HaCfFile:        "node node1 node2\nucast lo 127.0.0.1\nauto_failback on\n",
		AuthkeysFile:    "auth 1\n1 sha1 test-secret-0123456789\n",
		HaresourcesFile: "node1 ocf:heartbeat:IPaddr2::ip=10.0.0.5::cidr_netmask=24 service::peer\n",
	}
	cfg, diags := Load(writeConfig(t, files), opts)
	if cfg == nil {
		t.Fatalf("refused: %v", diags)
	}
	rs := cfg.Groups[0].Resources
	if rs[0].Script != "builtin:ocf:"+filepath.Join(agents, "IPaddr2") || !slices.Equal(rs[0].Args, []string{"ip=10.0.0.5", "cidr_netmask=24"}) ||
		rs[1].Script != "builtin:service" || !slices.Equal(rs[1].Args, []string{"peer"}) {
		t.Errorf("resources = %+v", rs)
	}
	files[HaresourcesFile] = "# x\nnode1 service::peer \\\n  ocf:heartbeat:apache::configfile=/etc/apache2/apache2.conf\n"
	_, diags = Load(writeConfig(t, files), opts)
	checkDiags(t, diags, []want{e(2, filepath.Join(agents, "apache")+" does not exist")})
}
