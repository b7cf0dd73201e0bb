//go:build linux

package ipaddr

import (
	"context"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// TestHereWarnsWhenStartFails: Here warns of a resource exactly when its
// start fails on this machine for want of an interface, and says why;
// once the interface exists (made later, as a VLAN or a bond is: a veth
// here) it says
// nothing and the start succeeds.
func TestHereWarnsWhenStartFails(t *testing.T) {
	lab := netlab.NewT(t, t.Name())
	a := addHost(t, lab, "a", "10.231.0.1/24")
	ctx := context.Background()
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string // in the one warning; "" for none
	}{
		{"its interface", []string{"10.231.0.60/24/eth0"}, ""},
		{"a missing interface", []string{"10.231.0.61/24/eth9"}, "interface eth9 does not exist on this machine (it has: lo, eth0)"},
		{"a missing nic=", []string{"ip=10.231.0.62", "nic=eth9"}, "interface eth9 does not exist on this machine"},
		{"no interface, a connected route covers it", []string{"10.231.0.63"}, ""},
		{"no interface, no route covers it", []string{"192.0.2.7"}, "no interface has a connected route covering 192.0.2.7"},
		{"an interface, no route covers it", []string{"192.0.2.8/24/eth0"}, ""},
		{"IPv6, no route covers it", []string{"fd00:99::1"}, "no interface has a connected route covering fd00:99::1"},
	}
	check := func(t *testing.T, args []string, want string) {
		t.Helper()
		ag, _ := agentIn(t, a, dir, quickBurst, args...)
		got := ag.spec.here(ag.h)
		err := ag.Start(ctx)
		switch {
		case want == "":
			if len(got) != 0 || err != nil {
				t.Errorf("Here %q, start %v; want neither warning nor error", got, err)
			}
		case len(got) != 1 || !strings.Contains(got[0], want) || !strings.HasPrefix(got[0], "IPaddr2 "+ag.spec.String()+": "):
			t.Errorf("Here %q, want one warning saying %q", got, want)
		case err == nil:
			t.Errorf("Here warns %q but the start succeeded", got)
		case !strings.Contains(err.Error(), want[:min(len(want), 40)]):
			t.Errorf("the start fails with %q, not with the words of Here's warning %q", err, want)
		}
		if err := ag.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.args, tc.want) })
	}
	t.Run("the interface made later", func(t *testing.T) {
		for _, c := range [][]string{
			{"ip", "link", "add", "eth9", "type", "veth", "peer", "name", "eth9p"},
			{"ip", "link", "set", "eth9p", "up"},
			{"ip", "link", "set", "eth9", "up"},
		} {
			if out, err := a.Exec(ctx, c[0], c[1:]...); err != nil {
				t.Fatalf("%v: %v %s", c, err, out)
			}
		}
		check(t, []string{"10.231.0.61/24/eth9"}, "")
	})
}

// TestHereNamesBounded: the list of this machine's interfaces in a
// warning stops at hereNames, saying how many more there are.
func TestHereNamesBounded(t *testing.T) {
	lab := netlab.NewT(t, t.Name())
	a := addHost(t, lab, "a", "10.231.0.1/24")
	ctx := context.Background()
	for i := range hereNames + 3 {
		if out, err := a.Exec(ctx, "ip", "link", "add", "d"+strings.Repeat("x", i%3)+string(rune('a'+i)), "type", "bridge"); err != nil {
			t.Fatalf("%v %s", err, out)
		}
	}
	ag, _ := agentIn(t, a, t.TempDir(), quickBurst, "10.231.0.61/24/eth9")
	got := ag.spec.here(ag.h)
	if len(got) != 1 {
		t.Fatalf("Here %q, want one warning", got)
	}
	_, list, _ := strings.Cut(got[0], "(it has: ")
	list, _, _ = strings.Cut(list, ")")
	// lo, eth0 and hereNames+3 bridges: 5 more than listed.
	if names := strings.Split(list, ", "); len(names) != hereNames+1 || names[hereNames] != "and 5 more" {
		t.Errorf("the interfaces listed are %q, want %d names and 5 more", list, hereNames)
	}
}
