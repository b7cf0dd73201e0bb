package config

import (
	"strings"
	"testing"
)

func TestFindGroup(t *testing.T) {
	const haresources = "# two groups\n" +
		"node1 IPaddr2::10.0.0.10/24/eth0 httpd\n" +
		"node2 IPaddr2::10.0.0.11/24/eth0 peer::a httpd2\n" +
		"node2 10.0.0.12 shared\n" +
		"node1 10.0.0.13 shared\n"
	groups, diags := ParseHaresources("haresources", strings.NewReader(haresources), hbdAgents)
	if len(diags) > 0 {
		t.Fatalf("haresources: %v", diags)
	}
	c := &Config{Groups: groups}
	tests := []struct {
		name, want, err string
	}{
		{name: "IPaddr2::10.0.0.10/24/eth0", want: "IPaddr2::10.0.0.10/24/eth0"},
		{name: "2", want: "IPaddr2::10.0.0.10/24/eth0"},
		{name: "3", want: "IPaddr2::10.0.0.11/24/eth0"},
		{name: "httpd", want: "IPaddr2::10.0.0.10/24/eth0"},
		{name: "peer", want: "IPaddr2::10.0.0.11/24/eth0"},
		{name: "peer::a", want: "IPaddr2::10.0.0.11/24/eth0"},
		{name: " httpd2 ", want: "IPaddr2::10.0.0.11/24/eth0"},
		{name: "IPaddr::10.0.0.12", want: "IPaddr::10.0.0.12"},
		{name: "shared", err: `"shared" is in more than one resource group`},
		{name: "IPaddr2", err: `"IPaddr2" is in more than one resource group`},
		{name: "nginx", err: `unknown resource group "nginx"`},
		{name: "1", err: `unknown resource group "1"`},
	}
	for _, tt := range tests {
		g, err := c.FindGroup(tt.name)
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("FindGroup(%q) = %s, %v; want error %q", tt.name, g.Key(), err, tt.err)
			} else if !strings.Contains(err.Error(), "3: IPaddr2::10.0.0.11/24/eth0, 3, peer::a, peer, httpd2") {
				t.Errorf("FindGroup(%q): the error does not list the groups and their names:\n%v", tt.name, err)
			}
		case err != nil || g.Key() != tt.want:
			t.Errorf("FindGroup(%q) = %s, %v; want %s", tt.name, g.Key(), err, tt.want)
		}
	}
}
