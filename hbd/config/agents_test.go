package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/resources/agents"
	"github.com/hbdproject/hbd/resources/builtin"
	"github.com/hbdproject/hbd/resources/service"
)

// TestParseHaresourcesAgentSyntax: haresources is checked with the
// service, awseip and OCF agents' own parsers.
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
		{"awseip", "node1 awseip::eipalloc-0123456789abcdef0 nginx\n", nil},
		{"awseip short id", "node1 awseip::eipalloc-0123abcd\n", nil},
		{"awseip parameters", "node1 awseip::eipalloc-0123456789abcdef0::stop=disassociate::region=eu-west-1::private_ip=10.0.0.12::instance=i-0123456789abcdef0::timeout=20s::attempts=3\n", nil},
		{"awseip dashed names", "node1 awseip::eipalloc-0123456789abcdef0::private-ip=10.0.0.12::imds-timeout=1s\n", nil},
		{"awseip endpoints", "node1 awseip::eipalloc-0123456789abcdef0::ec2_endpoint=http://127.0.0.1:8080::imds_endpoint=http://127.0.0.1:8081\n", nil},
		{"awseip no id", "node1 awseip\n", []want{e(1, "missing the Elastic IP's allocation id")}},
		{"awseip address for id", "node1 awseip::50.17.213.152\n", []want{e(1, `allocation id "50.17.213.152" does not start with eipalloc- (awseip takes the Elastic IP's allocation id, not its address`)}},
		{"awseip id not hex", "node1 awseip::eipalloc-0h\n", []want{e(1, `allocation id "eipalloc-0h" is not eipalloc- and 8 to 17 hexadecimal digits`)}},
		{"awseip id too long", "node1 awseip::eipalloc-0123456789abcdef01\n", []want{e(1, "8 to 17 hexadecimal digits")}},
		{"awseip parameter first", "node1 awseip::region=eu-west-1\n", []want{e(1, "the first parameter must be the allocation id")}},
		{"awseip typo", "node1 awseip::eipalloc-0123456789abcdef0::regoin=eu-west-1\n", []want{e(1, `unknown parameter "regoin" (known: instance, region, private_ip, stop, ec2_endpoint, imds_endpoint, timeout, imds_timeout, attempts)`)}},
		{"awseip bad stop", "node1 awseip::eipalloc-0123456789abcdef0::stop=bogus\n", []want{e(1, `stop="bogus": want keep or disassociate`)}},
		{"awseip bad region", "node1 awseip::eipalloc-0123456789abcdef0::region=Ireland\n", []want{e(1, `region="Ireland" is not an AWS region name`)}},
		{"awseip bad private ip", "node1 awseip::eipalloc-0123456789abcdef0::private_ip=10.0.0\n", []want{e(1, `private_ip="10.0.0": want the instance's private IPv4 address`)}},
		{"awseip bad instance", "node1 awseip::eipalloc-0123456789abcdef0::instance=0123\n", []want{e(1, "an instance id starts with i-")}},
		{"awseip not name=value", "node1 awseip::eipalloc-0123456789abcdef0::keep\n", []want{e(1, `parameter "keep" is not NAME=VALUE`)}},
		{"awseip twice", "node1 awseip::eipalloc-0123456789abcdef0::stop=keep::stop=keep\n", []want{e(1, "parameter stop given twice")}},
		{"awseip bad endpoint", "node1 awseip::eipalloc-0123456789abcdef0::ec2_endpoint=localhost\n", []want{e(1, "want an http:// or https:// URL")}},
		{"awseip bad timeout", "node1 awseip::eipalloc-0123456789abcdef0::timeout=2h\n", []want{e(1, "at most 1h")}},
		{"ocf as group key twice", "node1 ocf:heartbeat:Dummy\nnode2 ocf:heartbeat:Dummy\n", []want{e(2, "defined twice")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := ParseHaresources("haresources", strings.NewReader(tt.in), hbdAgents)
			checkDiags(t, got, tt.want)
		})
	}
}

func TestResolveAgents(t *testing.T) {
	root := t.TempDir()
	heartbeat := filepath.Join(root, "resource.d", "heartbeat")
	if err := os.MkdirAll(heartbeat, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]os.FileMode{"Dummy": 0o755, "Plain": 0o644} {
		if err := os.WriteFile(filepath.Join(heartbeat, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir() // an ha.d without resource.d
	initDir := t.TempDir()
	all := Lookup{InitDir: initDir, Agents: builtin.Agents(root)}
	dummy := filepath.Join(heartbeat, "Dummy")
	for _, tc := range []struct {
		lookup        Lookup
		name          string
		want          Script
		wantErr       string
		withInitScrip bool
	}{
		{lookup: all, name: "service", want: Script{Kind: ScriptBuiltin, Name: "service"}},
		{lookup: all, name: "service", want: Script{Kind: ScriptFile, Path: filepath.Join(initDir, "service")}, withInitScrip: true},
		{lookup: all, name: "ocf:heartbeat:Dummy", want: Script{Kind: ScriptOCF, Name: "ocf", Path: dummy}},
		{lookup: all, name: "ocf:heartbeat:Plain", wantErr: "is not executable (chmod 755 " + filepath.Join(heartbeat, "Plain") + ")"},
		{lookup: all, name: "ocf:heartbeat:Missing", wantErr: filepath.Join(heartbeat, "Missing") + " does not exist"},
		{lookup: all, name: "ocf:nope:Dummy", wantErr: "does not exist"},
		{lookup: Lookup{InitDir: initDir, Agents: agents.New(service.Agents()...)}, name: "ocf:heartbeat:Dummy", wantErr: "cannot run OCF agents"},
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
				t.Errorf("Resolve(%s) with agents %v = %+v, %v; want error containing %q", tc.name, tc.lookup.Agents.Shown(), got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%s) = %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	if s := (Script{Kind: ScriptOCF, Name: "ocf", Path: dummy}); s.String() != "builtin:ocf:"+dummy || s.AgentArg() != "ocf:"+dummy {
		t.Errorf("OCF script shows as %q, runs as hbd agent %q", s, s.AgentArg())
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
	lookup := Lookup{InitDir: t.TempDir(), Agents: builtin.Agents(root)}
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
	if rs[0].Script.String() != "builtin:ocf:"+filepath.Join(agents, "IPaddr2") || !slices.Equal(rs[0].Args, []string{"ip=10.0.0.5", "cidr_netmask=24"}) ||
		rs[1].Script.String() != "builtin:service" || !slices.Equal(rs[1].Args, []string{"peer"}) {
		t.Errorf("resources = %+v", rs)
	}
	files[HaresourcesFile] = "# x\nnode1 service::peer \\\n  ocf:heartbeat:apache::configfile=/etc/apache2/apache2.conf\n"
	_, diags = Load(writeConfig(t, files), opts)
	checkDiags(t, diags, []want{e(2, filepath.Join(agents, "apache")+" does not exist")})
}

// TestLoadMonitorsAsWritten: a monitor line names an OCF resource exactly
// as haresources writes it, "=" and "::" included, and a resource that
// is in two groups with group=GROUP (key or number).
func TestLoadMonitorsAsWritten(t *testing.T) {
	root := t.TempDir()
	agents := filepath.Join(root, "resource.d", "heartbeat")
	if err := os.MkdirAll(agents, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(agents, "IPaddr2"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	opts := LoadOptions{Node: "node1", Lookup: Lookup{InitDir: t.TempDir(), Agents: builtin.Agents(root)},
		Interfaces: func() ([]string, error) { return []string{"lo"}, nil }}
	vip1, vip2 := "ocf:heartbeat:IPaddr2::ip=10.0.0.5::cidr_netmask=24", "ocf:heartbeat:IPaddr2::ip=10.0.0.6::cidr_netmask=24"
	res := "node1 " + vip1 + " service::peer\nnode2 " + vip2 + " service::peer\n"
	type placed struct {
		resource, group string
		index           int
	}
	for _, tc := range []struct {
		name     string
		monitors string
		want     []want
		placed   []placed
	}{
		{name: "OCF resources as written", monitors: "monitor " + vip1 + " interval=10s\nmonitor " + vip2 + "\n",
			placed: []placed{{vip1, vip1, 0}, {vip2, vip2, 0}}},
		{name: "same resource in two groups, qualified", monitors: "monitor service::peer group=2\nmonitor service::peer group=" + vip1 + "\n",
			placed: []placed{{"service::peer", vip2, 1}, {"service::peer", vip1, 1}},
			want:   []want{w(4, "monitor service::peer: group=2 names a group by its number (its position in haresources), which names another group once a group is added or removed before it; write group="+vip2)}},
		{name: "same resource in two groups, unqualified", monitors: "monitor service::peer\n",
			want: []want{e(4, "monitor: service::peer names 2 resources: service::peer (group 1, "+vip1)}},
		{name: "short name of two resources", monitors: "monitor ocf:heartbeat:IPaddr2\n",
			want: []want{e(4, "monitor: ocf:heartbeat:IPaddr2 names 2 resources")}},
		{name: "short name within a group", monitors: "monitor ocf:heartbeat:IPaddr2 group=2\n",
			placed: []placed{{vip2, vip2, 0}}, want: []want{w(4, "group=2 names a group by its number")}},
		{name: "exclusive names groups as written", monitors: "exclusive " + vip2 + " " + vip1 + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{
				HaCfFile:        "node node1 node2\nucast lo 127.0.0.1\nauto_failback on\n" + tc.monitors,
				AuthkeysFile:    "auth 1\n1 sha1 test-secret-0123456789\n",
				HaresourcesFile: res,
			}
			cfg, diags := Load(writeConfig(t, files), opts)
			checkDiags(t, diags, tc.want)
			if wantsError(tc.want) {
				return
			}
			if cfg == nil {
				t.Fatalf("refused: %v", diags)
			}
			var got []placed
			for _, m := range cfg.Monitors {
				got = append(got, placed{m.Resource, m.Group, m.Index})
			}
			if !slices.Equal(got, tc.placed) {
				t.Errorf("monitors %v, want %v", got, tc.placed)
			}
		})
	}
}

// TestAgentsDocForms: every haresources line that docs/agents.md shows
// in a code block passes the agents' parsers, so `hbd check` accepts
// each form the documentation teaches.
func TestAgentsDocForms(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "agents.md"))
	if err != nil {
		t.Fatal(err)
	}
	inBlock, n := false, 0
	for i, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "```") {
			inBlock = !inBlock
			continue
		}
		if !inBlock || !strings.HasPrefix(line, "node1 ") {
			continue
		}
		n++
		_, diags := ParseHaresources("haresources", strings.NewReader(line+"\n"), hbdAgents)
		if HasErrors(diags) {
			t.Errorf("docs/agents.md:%d: %s\n  refused: %v", i+1, line, diags)
		}
	}
	if n < 10 {
		t.Errorf("found only %d haresources lines in docs/agents.md's code blocks", n)
	}
}

// TestLoadFenceAWS: fence_aws's allocation id and region are checked by
// the AWS fence's agent, as an awseip resource's are.
func TestLoadFenceAWS(t *testing.T) {
	opts := LoadOptions{Node: "node1", Lookup: Lookup{Agents: hbdAgents}, Interfaces: func() ([]string, error) { return []string{"lo"}, nil }}
	for _, tc := range []struct {
		fence string
		want  []want
	}{
		{"fence_aws stop-instance node1=i-0aaa node2=i-0bbb region=eu-west-1", nil},
		{"fence_aws reassociate eipalloc-0123456789abcdef0 node1=i-0aaa node2=i-0bbb", nil},
		{"fence_aws reassociate eipalloc-1 node1=i-0aaa node2=i-0bbb", []want{e(4, `fence_aws: allocation id "eipalloc-1" is not eipalloc- and 8 to 17 hexadecimal digits`)}},
		{"fence_aws stop-instance node1=i-0aaa node2=i-0bbb region=Ireland", []want{e(4, `fence_aws: region="Ireland" is not an AWS region name`)}},
	} {
		files := map[string]string{
			HaCfFile:        "node node1 node2\nucast lo 127.0.0.1\nauto_failback on\n" + tc.fence + "\n",
			AuthkeysFile:    "auth 1\n1 sha1 0123456789abcdef0123456789abcdef\n",
			HaresourcesFile: "node1 IPaddr2::10.0.0.5/24/lo\n",
		}
		_, diags := Load(writeConfig(t, files), opts)
		var errs []Diag
		for _, d := range diags {
			if d.Severity == SevError {
				errs = append(errs, d)
			}
		}
		t.Run(tc.fence, func(t *testing.T) { checkDiags(t, errs, tc.want) })
	}
}
