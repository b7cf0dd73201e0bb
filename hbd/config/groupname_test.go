package config

import (
	"strings"
	"testing"
)

// groupsConfig is a configuration holding the groups of haresources,
// which must parse without a diagnostic.
func groupsConfig(t *testing.T, haresources string) *Config {
	t.Helper()
	groups, diags := ParseHaresources("haresources", strings.NewReader(haresources), hbdAgents)
	if len(diags) > 0 {
		t.Fatalf("haresources: %v", diags)
	}
	return &Config{Groups: groups}
}

func TestFindGroup(t *testing.T) {
	const haresources = "# two groups\n" +
		"node1 IPaddr2::10.0.0.10/24/eth0 httpd\n" +
		"node2 IPaddr2::10.0.0.11/24/eth0 peer::a httpd2\n" +
		"node2 10.0.0.12 shared\n" +
		"node1 10.0.0.13 shared\n"
	c := groupsConfig(t, haresources)
	tests := []struct {
		name, want, err string
	}{
		{name: "IPaddr2::10.0.0.10/24/eth0", want: "IPaddr2::10.0.0.10/24/eth0"},
		{name: "1", want: "IPaddr2::10.0.0.10/24/eth0"},
		{name: "2", want: "IPaddr2::10.0.0.11/24/eth0"},
		{name: "4", want: "IPaddr::10.0.0.13"},
		{name: "10.0.0.12", want: "IPaddr::10.0.0.12"},
		{name: "httpd", want: "IPaddr2::10.0.0.10/24/eth0"},
		{name: "peer", want: "IPaddr2::10.0.0.11/24/eth0"},
		{name: "peer::a", want: "IPaddr2::10.0.0.11/24/eth0"},
		{name: " httpd2 ", want: "IPaddr2::10.0.0.11/24/eth0"},
		{name: "IPaddr::10.0.0.12", want: "IPaddr::10.0.0.12"},
		{name: "shared", err: `"shared" is in more than one resource group`},
		{name: "IPaddr2", err: `"IPaddr2" is in more than one resource group`},
		{name: "nginx", err: `unknown resource group "nginx"`},
		{name: "5", err: "there is no group 5: haresources has 4 groups"},
		{name: "0", err: "there is no group 0"},
	}
	for _, tt := range tests {
		g, err := c.FindGroup(tt.name)
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("FindGroup(%q) = %s, %v; want error %q", tt.name, g.Key(), err, tt.err)
			} else if !strings.Contains(err.Error(), "2: IPaddr2::10.0.0.11/24/eth0, peer::a, peer, httpd2 (line 3)") {
				t.Errorf("FindGroup(%q): the error does not list the groups and their names:\n%v", tt.name, err)
			}
		case err != nil || g.Key() != tt.want:
			t.Errorf("FindGroup(%q) = %s, %v; want %s", tt.name, g.Key(), err, tt.want)
		}
	}
}

func TestGroupExplicitNames(t *testing.T) {
	const haresources = "#hbd name web\n" +
		"node1 IPaddr2::10.0.0.10/24/eth0 httpd\n" +
		"\n# the validator\n#hbd name validator\n" +
		"node2 IPaddr2::10.0.0.11/24/eth0 \\\n  peer\n"
	c := groupsConfig(t, haresources)
	for name, want := range map[string]string{"web": "IPaddr2::10.0.0.10/24/eth0", "validator": "IPaddr2::10.0.0.11/24/eth0", "2": "IPaddr2::10.0.0.11/24/eth0"} {
		if g, err := c.FindGroup(name); err != nil || g.Key() != want {
			t.Errorf("FindGroup(%q) = %s, %v; want %s", name, g.Key(), err, want)
		}
	}
	if got := strings.Join(c.GroupNames(c.Groups[1]), " "); got != "IPaddr2::10.0.0.11/24/eth0 validator 2 peer" {
		t.Errorf("GroupNames = %q", got)
	}

	tests := []struct {
		name, in string
		want     []want
	}{
		{"ordinary comments", "# hbd is great\n#hbdx name y\nnode1 web\n", nil},
		{"unknown hbd comment", "#hbd label web\nnode1 web\n", []want{w(1, "unknown hbd comment")}},
		{"number", "#hbd name 2\nnode1 web\n", []want{e(1, `group name "2" is a number`)}},
		{"separator", "#hbd name a|b\nnode1 web\n", []want{e(1, "contains `|` or `>`")}},
		{"twice in a row", "#hbd name a\n#hbd name b\nnode1 web\n", []want{w(1, "`#hbd name a` names no group: another `#hbd name` follows on line 2")}},
		{"at the end", "node1 web\n#hbd name a\n", []want{w(2, "`#hbd name a` names no group: no group line follows")}},
		{"duplicate", "#hbd name a\nnode1 web\n#hbd name a\nnode2 db\n", []want{e(4, "group name a is given twice (also to the group on line 2)")}},
		{"another key", "#hbd name db\nnode1 web\nnode2 db\n", []want{e(2, "group name db is the key of the group on line 3")}},
		{"after a resource", "node1 web #hbd name a\nnode2 db\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := ParseHaresources("haresources", strings.NewReader(tt.in), hbdAgents)
			checkDiags(t, got, tt.want)
		})
	}
}
