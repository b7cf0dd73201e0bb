package config

import (
	"errors"
	"testing"
)

// TestPingSockets: where the ICMP socket of a family cannot be opened,
// the first ping line of that family says so: an error for hbd run and
// hbd check, a warning for files of another machine or a lenient
// reader; a family that can be opened, no ping lines, or no ICMP check
// say nothing.
func TestPingSockets(t *testing.T) {
	base := "node node1 node2\nucast lo 127.0.0.1\nauto_failback on\n"
	auth := "auth 1\n1 sha1 test-secret-0123456789\n"
	denied := errors.New("operation not permitted")
	no4 := func(v6 bool) error {
		if v6 {
			return nil
		}
		return denied
	}
	all := func(bool) error { return denied }
	for _, tc := range []struct {
		name  string
		lines string
		icmp  func(bool) error
		any   bool // AnyMachine
		lax   bool // not Strict
		want  []want
	}{
		{"allowed", "ping 10.0.0.1\n", func(bool) error { return nil }, false, false, nil},
		{"no check", "ping 10.0.0.1\n", nil, false, false, nil},
		{"no ping nodes", "", all, false, false, nil},
		{"IPv4 denied, strict", "ping 10.0.0.1\nping 10.0.0.2\n", no4, false, false,
			[]want{e(4, "ping: 10.0.0.1 cannot be pinged from here: operation not permitted; hbd run refuses to start with ping nodes it cannot ping: run hbd as root with CAP_NET_RAW")}},
		{"IPv4 denied, IPv6 allowed", "ping ::1\nping_group g ::2 10.0.0.3\n", no4, false, false,
			[]want{e(5, "ping_group g: 10.0.0.3 cannot be pinged from here")}},
		{"both denied", "ping_group g 10.0.0.1 ::1\n", all, false, false,
			[]want{e(4, "10.0.0.1 cannot be pinged"), e(4, "::1 cannot be pinged")}},
		{"files of another machine", "ping 10.0.0.1\n", all, true, false,
			[]want{w(4, "ping: 10.0.0.1 cannot be pinged from here: operation not permitted; `hbd run` refuses to start on a machine that does not allow it")}},
		{"a lenient reader", "ping 10.0.0.1\n", all, false, true,
			[]want{w(4, "`hbd run` refuses to start on a machine that does not allow it")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeConfig(t, map[string]string{HaCfFile: base + tc.lines, AuthkeysFile: auth, HaresourcesFile: "node1 10.0.0.9/24/lo\n"})
			cfg, diags := Load(dir, LoadOptions{Node: "node1", Strict: !tc.lax, AnyMachine: tc.any, ICMP: tc.icmp,
				Lookup:     Lookup{Agents: hbdAgents},
				Interfaces: func() ([]string, error) { return []string{"lo"}, nil }})
			checkDiags(t, diags, tc.want)
			if (cfg == nil) != wantsError(tc.want) {
				t.Errorf("config returned %v, want it only without errors", cfg != nil)
			}
		})
	}
}
