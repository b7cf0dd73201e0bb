package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEtcdDiagnostics(t *testing.T) {
	const ep = "etcd_endpoints http://127.0.0.1:2379\n"
	tests := []struct {
		name string
		in   string // appended to hacfBase (lines 4...)
		want []want
	}{
		{"default backend", "", nil},
		{"heartbeat", "backend heartbeat\n", nil},
		{"unknown backend", "backend consul\n", []want{e(4, "unknown backend")}},
		{"etcd ok", "backend etcd\n" + ep + "resource_timeout 10\n", nil},
		{"etcd no endpoints", "backend etcd\nresource_timeout 10\n", []want{e(4, "needs etcd_endpoints")}},
		{"bad endpoint", "backend etcd\nresource_timeout 10\netcd_endpoints 10.0.0.5:2379\n", []want{e(6, "not an etcd client URL"), e(4, "needs etcd_endpoints")}},
		{"endpoint without port", "backend etcd\nresource_timeout 10\netcd_endpoints https://10.0.0.5\n", []want{e(6, "not an etcd client URL"), e(4, "needs etcd_endpoints")}},
		{"prefix relative", "backend etcd\n" + ep + "resource_timeout 10\netcd_prefix hbd\n", []want{e(7, "must start with /")}},
		{"cert without key", "backend etcd\n" + ep + "resource_timeout 10\netcd_cert /etc/ha.d/c.pem\n", []want{e(7, "go together")}},
		{"default lease, default resource_timeout", "backend etcd\n" + ep, nil},
		{"lease not whole seconds", "backend etcd\n" + ep + "resource_timeout 1\netcd_lease 2500ms\n", []want{e(7, "whole seconds")}},
		{"media not used", "backend etcd\n" + ep + "resource_timeout 10\nbcast eth0\n", []want{w(7, "bcast is not used with `backend etcd`")}},
		{"lease too short", "backend etcd\n" + ep + "resource_timeout 10\netcd_lease 19\n", []want{e(7, "at least twice that (20s)")}},
		{"lease exactly twice", "backend etcd\n" + ep + "resource_timeout 10\netcd_lease 20\n", nil},
		{"etcd lines without backend", ep + "etcd_lease 30\n", []want{w(4, "only applies with `backend etcd`"), w(5, "only applies")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := hacfBase
			if strings.Contains(tt.in, "backend etcd") {
				// No medium: the etcd backend sends no heartbeats.
				base = strings.Replace(base, "ucast eth0 10.0.0.2", "# no medium", 1)
			}
			_, got := ParseHaCf("ha.cf", strings.NewReader(base+tt.in))
			checkDiags(t, got, tt.want)
		})
	}
}

func TestEtcdValues(t *testing.T) {
	in := hacfBase + "backend etcd\netcd_endpoints https://a:2379,https://b:2379 https://c:2379\netcd_prefix /ha/prod\n" +
		"etcd_cacert /ca.pem\netcd_cert /c.pem\netcd_key /k.pem\nresource_timeout 5\netcd_lease 30s\n"
	c, ds := ParseHaCf("ha.cf", strings.NewReader(in))
	if HasErrors(ds) {
		t.Fatalf("diagnostics: %v", ds)
	}
	want := Etcd{
		Endpoints: []string{"https://a:2379", "https://b:2379", "https://c:2379"},
		Prefix:    "/ha/prod/", CACert: "/ca.pem", Cert: "/c.pem", Key: "/k.pem",
		Lease: 30 * time.Second, Pos: Pos{"ha.cf", 4}, LeasePos: Pos{"ha.cf", 11},
	}
	if c.Backend != BackendEtcd || !reflect.DeepEqual(c.Etcd, want) {
		t.Errorf("got backend %q %+v\nwant %+v", c.Backend, c.Etcd, want)
	}
	c, _ = ParseHaCf("ha.cf", strings.NewReader(hacfBase))
	if c.Backend != BackendHeartbeat || c.Etcd.Prefix != DefaultEtcdPrefix || c.Etcd.Lease != 0 {
		t.Errorf("defaults: backend %q prefix %q lease %v", c.Backend, c.Etcd.Prefix, c.Etcd.Lease)
	}
}

// TestLoadEtcd: Load holds etcd_lease against the longest group, naming
// the etcd_lease line, and without that line sets the lease to twice the
// longest group's stop.
func TestLoadEtcd(t *testing.T) {
	const base = "node node1 node2\nucast lo 127.0.0.1\nauto_failback on\nbackend etcd\netcd_endpoints http://127.0.0.1:2379\nresource_timeout 10\n"
	tests := []struct {
		name, extra, res string
		want             []want
		lease            time.Duration // of the config returned
	}{
		{"default lease: one resource", "", "node1 web\n", nil, 20 * time.Second},
		{"default lease: the longest group", "", "node1 web\nnode2 db web web web\n", nil, 80 * time.Second},
		{"long group", "etcd_lease 30\n", "node1 web web web\n", []want{e(7, "group web (3 resources)")}, 0},
		{"long group, lease enough", "etcd_lease 60\n", "node1 web web web\n", nil, 60 * time.Second},
		{"heartbeat", "", "node1 web web web web\n", nil, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hacf := base + tt.extra
			if tt.name == "heartbeat" {
				hacf = strings.Replace(hacf, "backend etcd", "backend heartbeat", 1) + "etcd_lease 1\n"
			}
			dir := writeConfig(t, map[string]string{
				HaCfFile:         hacf,
				AuthkeysFile:     "auth 1\n1 sha1 test-secret-0123456789\n",
				HaresourcesFile:  tt.res,
				"resource.d/web": "#!/bin/sh\n",
				"resource.d/db":  "#!/bin/sh\n",
			})
			cfg, diags := Load(dir, LoadOptions{Node: "node1", Interfaces: func() ([]string, error) { return []string{"lo"}, nil }})
			var ds []Diag
			for _, d := range diags {
				if d.Pos.File == filepath.Join(dir, HaCfFile) && d.Severity == SevError {
					ds = append(ds, d)
				}
			}
			checkDiags(t, ds, tt.want)
			if cfg == nil && tt.want == nil {
				t.Fatalf("no config: %v", diags)
			}
			if (cfg != nil) != (tt.want == nil) {
				t.Fatalf("config returned: %v, want %v", cfg != nil, tt.want == nil)
			}
			if cfg != nil && cfg.Etcd.Lease != tt.lease {
				t.Errorf("lease %v, want %v", cfg.Etcd.Lease, tt.lease)
			}
		})
	}
}
