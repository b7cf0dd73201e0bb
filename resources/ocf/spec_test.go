package ocf

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    Agent
		wantErr string
	}{
		{name: "ocf:heartbeat:Dummy", want: Agent{Root: DefaultRoot, Provider: "heartbeat", Type: "Dummy"}},
		{name: "ocf:heartbeat:IPaddr2", args: []string{"ip=10.0.0.5", "cidr_netmask=24"},
			want: Agent{Root: DefaultRoot, Provider: "heartbeat", Type: "IPaddr2", Params: []Param{{"ip", "10.0.0.5"}, {"cidr_netmask", "24"}}}},
		// `::` inside an IPv6 value arrives split; it is joined back.
		{name: "ocf:heartbeat:IPaddr2", args: []string{"ip=fd00", "5", "cidr_netmask=64"},
			want: Agent{Root: DefaultRoot, Provider: "heartbeat", Type: "IPaddr2", Params: []Param{{"ip", "fd00::5"}, {"cidr_netmask", "64"}}}},
		{name: "ocf:heartbeat:IPv6addr", args: []string{"ipv6addr=2001:db8", "1/64"},
			want: Agent{Root: DefaultRoot, Provider: "heartbeat", Type: "IPv6addr", Params: []Param{{"ipv6addr", "2001:db8::1/64"}}}},
		{name: "ocf:heartbeat:IPaddr2", args: []string{"ip=", "1"},
			want: Agent{Root: DefaultRoot, Provider: "heartbeat", Type: "IPaddr2", Params: []Param{{"ip", "::1"}}}},
		{name: "ocf:pacemaker:Stateful", args: []string{"empty="},
			want: Agent{Root: DefaultRoot, Provider: "pacemaker", Type: "Stateful", Params: []Param{{"empty", ""}}}},
		{name: "ocf:heartbeat:apache", args: []string{"configfile=/etc/apache2/a=b.conf"},
			want: Agent{Root: DefaultRoot, Provider: "heartbeat", Type: "apache", Params: []Param{{"configfile", "/etc/apache2/a=b.conf"}}}},
		// The form config.Load resolves to: an absolute path.
		{name: "ocf:/opt/ocf/resource.d/acme/Thing", args: []string{"x=1"},
			want: Agent{Root: "/opt/ocf", Provider: "acme", Type: "Thing", Params: []Param{{"x", "1"}}}},

		{name: "ocf:heartbeat", wantErr: "needs a provider and a type"},
		{name: "ocf::Dummy", wantErr: `provider "" is empty`},
		{name: "ocf:heartbeat:", wantErr: `type "" is empty`},
		{name: "ocf:heartbeat:a:b", wantErr: "may not contain"},
		{name: "ocf:..:Dummy", wantErr: "is not a name"},
		{name: "ocf:/opt/ocf/agents/acme/Thing", wantErr: "is not ROOT/resource.d/PROVIDER/TYPE"},
		{name: "heartbeat:Dummy", wantErr: "not an OCF resource name"},
		{name: "ocf:heartbeat:IPaddr2", args: []string{"10.0.0.5"}, wantErr: `argument 1 "10.0.0.5" is not NAME=VALUE`},
		{name: "ocf:heartbeat:IPaddr2", args: []string{"ip=10.0.0.5", "24"}, wantErr: `argument 2 "24" is not NAME=VALUE`},
		{name: "ocf:heartbeat:IPaddr2", args: []string{"ip=1", "ip=2"}, wantErr: "parameter ip is given twice"},
		{name: "ocf:heartbeat:IPaddr2", args: []string{"9ip=1"}, wantErr: `"9ip" is not a parameter name`},
		{name: "ocf:heartbeat:IPaddr2", args: []string{"my-ip=1"}, wantErr: `"my-ip" is not a parameter name`},
		{name: "ocf:heartbeat:IPaddr2", args: []string{"=1"}, wantErr: `"" is not a parameter name`},
	} {
		got, err := Parse("", tc.name, tc.args)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Parse(%q, %q) = %+v, %v; want error containing %q", tc.name, tc.args, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q, %q) = %+v, %v; want %+v", tc.name, tc.args, got, err, tc.want)
		}
	}
}

func TestParseRoot(t *testing.T) {
	a, err := Parse("/srv/ocf", "ocf:heartbeat:Dummy", nil)
	if err != nil || a.Path() != "/srv/ocf/resource.d/heartbeat/Dummy" {
		t.Errorf("Parse with root: %q, %v", a.Path(), err)
	}
	// A path names its own root: the root argument does not apply.
	a, err = Parse("/srv/ocf", "ocf:/usr/lib/ocf/resource.d/heartbeat/Dummy", nil)
	if err != nil || a.Root != "/usr/lib/ocf" || a.Path() != "/usr/lib/ocf/resource.d/heartbeat/Dummy" {
		t.Errorf("Parse of a path: %+v, %v", a, err)
	}
}

func TestInstance(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"ocf:heartbeat:Dummy", nil, "Dummy"},
		{"ocf:heartbeat:IPaddr2", []string{"ip=10.99.0.100", "cidr_netmask=24"}, "IPaddr2_10.99.0.100"},
		{"ocf:heartbeat:IPaddr2", []string{"ip=fd00", "5"}, "IPaddr2_fd00::5"},
		{"ocf:heartbeat:Dummy", []string{"state=/tmp/a b/x.state"}, "Dummy__tmp_a_b_x.state"},
		{"ocf:heartbeat:Dummy", []string{"state=" + strings.Repeat("x", 100)}, "Dummy_" + strings.Repeat("x", 64)},
	} {
		a, err := Parse("", tc.name, tc.args)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Instance(); got != tc.want {
			t.Errorf("Instance of %s %q = %q, want %q", tc.name, tc.args, got, tc.want)
		}
		// The same resource through the path form has the same instance.
		b, err := Parse("", "ocf:"+a.Path(), tc.args)
		if err != nil || b.Instance() != a.Instance() {
			t.Errorf("path form: instance %q (%v), want %q", b.Instance(), err, a.Instance())
		}
	}
}

func TestCheckAndLocate(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "resource.d", "acme")
	if err := os.MkdirAll(filepath.Join(dir, "Sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\nexit 0\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("Good", 0o755)
	write("NoExec", 0o644)
	for _, tc := range []struct {
		typ     string
		wantErr string
	}{
		{"Good", ""},
		{"NoExec", "is not executable (chmod 755 " + filepath.Join(dir, "NoExec") + ")"},
		{"Sub", "is not a regular file"},
		{"Missing", filepath.Join(dir, "Missing") + " does not exist"},
	} {
		p, err := Locate(root, "ocf:acme:"+tc.typ, nil)
		if tc.wantErr == "" {
			if err != nil || p != filepath.Join(dir, tc.typ) {
				t.Errorf("Locate %s = %q, %v", tc.typ, p, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("Locate %s = %q, %v; want error containing %q", tc.typ, p, err, tc.wantErr)
		}
	}
}
