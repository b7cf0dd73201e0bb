package agents

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
)

func TestJoinIPv6(t *testing.T) {
	for _, tc := range []struct {
		in, want []string
	}{
		{[]string{"10.0.0.5/24/eth0"}, []string{"10.0.0.5/24/eth0"}},
		{[]string{"fd00", "5/64/eth0"}, []string{"fd00::5/64/eth0"}},
		{[]string{"fd00", "5"}, []string{"fd00::5"}},
		{[]string{"fe80", "1%eth0"}, []string{"fe80::1%eth0"}},
		{[]string{"ip=fd00", "5", "cidr_netmask=64"}, []string{"ip=fd00::5", "cidr_netmask=64"}},
		{[]string{"fd00", "5/64/eth0", "arp_count=3"}, []string{"fd00::5/64/eth0", "arp_count=3"}},
		{[]string{"2001:db8:0:1", "5/64"}, []string{"2001:db8:0:1::5/64"}},
		{[]string{"ip=", "1"}, []string{"ip=::1"}},
		// Not the rest of an address: kept apart for the agent to refuse.
		{[]string{"10.0.0.5/24", "eth0"}, []string{"10.0.0.5/24", "eth0"}},
		{[]string{"fd00", "5", "6"}, []string{"fd00::5", "6"}},
		{[]string{"fd00::5/64", "eth0"}, []string{"fd00::5/64", "eth0"}},
		{[]string{"fd00", "x=1"}, []string{"fd00", "x=1"}},
		{[]string{"eipalloc-0123456789abcdef0", "stop=keep"}, []string{"eipalloc-0123456789abcdef0", "stop=keep"}},
		{nil, []string{}},
	} {
		if got := JoinIPv6(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("JoinIPv6(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRegistryLookup(t *testing.T) {
	main := func(string, []string, io.Writer, io.Writer) int { return 0 }
	locate := func(name string, _ []string) (string, error) { return "/x/" + name, nil }
	r := New(
		Agent{Name: "IPaddr2", Program: true, Main: main},
		Agent{Name: "service", Main: main},
		Agent{Name: "ocf", Family: true, Form: "ocf:PROVIDER:TYPE", Locate: locate, Main: main},
	)
	for _, tc := range []struct {
		name, want string
		program    bool
	}{
		{"IPaddr2", "IPaddr2", true},
		{"service", "service", false},
		{"ocf:heartbeat:Dummy", "ocf", false},
		{"ocf:/usr/lib/ocf/resource.d/heartbeat/Dummy", "ocf", false},
		{"ocf", "", false}, // a family runs only NAME:... names
		{"IPaddr2:x", "", false},
		{"nginx", "", false},
	} {
		a, ok := r.Lookup(tc.name)
		if ok != (tc.want != "") || a.Name != tc.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", tc.name, a.Name, ok, tc.want)
		}
		if _, ok := r.Program(tc.name); ok != tc.program {
			t.Errorf("Program(%q) = %v, want %v", tc.name, ok, tc.program)
		}
	}
	if got, want := r.Shown(), []string{"IPaddr2", "service", "ocf:PROVIDER:TYPE"}; !slices.Equal(got, want) {
		t.Errorf("Shown() = %q, want %q", got, want)
	}
	if got, want := r.Programs(), []string{"IPaddr2"}; !slices.Equal(got, want) {
		t.Errorf("Programs() = %q, want %q", got, want)
	}
	var none *Registry
	if _, ok := none.Lookup("IPaddr2"); ok || none.Shown() != nil {
		t.Error("a nil registry has agents")
	}
}

func TestNewRefusesBadWiring(t *testing.T) {
	main := func(string, []string, io.Writer, io.Writer) int { return 0 }
	for name, list := range map[string][]Agent{
		"twice":          {{Name: "a", Main: main}, {Name: "a", Main: main}},
		"empty name":     {{Name: "", Main: main}},
		"colon":          {{Name: "a:b", Main: main}},
		"no main":        {{Name: "a"}},
		"family no find": {{Name: "ocf", Family: true, Main: main}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: New did not panic", name)
				}
			}()
			New(list...)
		}()
	}
}

type fakeAnnouncer string

func (fakeAnnouncer) Announce(context.Context) error { return nil }
func (fakeAnnouncer) Close() error                   { return nil }

func TestRegistryAddress(t *testing.T) {
	main := func(string, []string, io.Writer, io.Writer) int { return 0 }
	addr := func(name string, args []string, _ KeepOptions) (Announcer, bool, error) {
		switch {
		case name != "IPaddr2" && name != "ocf:heartbeat:IPaddr2":
			return nil, false, nil
		case len(args) == 0:
			return nil, true, errors.New("no address")
		}
		return fakeAnnouncer(args[0]), true, nil
	}
	r := New(Agent{Name: "service", Main: main}, Agent{Name: "IPaddr2", Main: main, Address: addr})
	for _, tc := range []struct {
		name string
		args []string
		want Announcer
		ok   bool
		err  bool
	}{
		{"IPaddr2", []string{"10.0.0.5"}, fakeAnnouncer("10.0.0.5"), true, false},
		{"ocf:heartbeat:IPaddr2", []string{"ip=10.0.0.5"}, fakeAnnouncer("ip=10.0.0.5"), true, false},
		{"IPaddr2", nil, nil, true, true},
		{"service", []string{"nginx"}, nil, false, false},
	} {
		a, ok, err := r.Address(tc.name, tc.args, KeepOptions{})
		if a != tc.want || ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("Address(%q, %q) = %v, %v, %v; want %v, %v, error %v", tc.name, tc.args, a, ok, err, tc.want, tc.ok, tc.err)
		}
	}
	var none *Registry
	if _, ok, err := none.Address("IPaddr2", []string{"10.0.0.5"}, KeepOptions{}); ok || err != nil {
		t.Errorf("a nil registry recognised an address")
	}
}
