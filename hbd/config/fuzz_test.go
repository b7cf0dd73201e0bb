package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/wire"
)

// addSeeds adds the sample file and the given inputs to a fuzz corpus.
func addSeeds(f *testing.F, sample string, inputs ...string) {
	if b, err := os.ReadFile(filepath.Join(sampleDir, sample)); err == nil {
		f.Add(b)
	}
	for _, in := range inputs {
		f.Add([]byte(in))
	}
}

// checkFuzzDiags asserts what holds for any input: every diag names the
// file, points at a line of it (or 0), and has a message.
func checkFuzzDiags(t *testing.T, data []byte, diags []Diag) {
	lines := bytes.Count(data, []byte("\n")) + 1
	for _, d := range diags {
		if d.Pos.File != "f" || d.Pos.Line < 0 || d.Pos.Line > lines || d.Msg == "" {
			t.Fatalf("bad diag %+v for %d lines", d, lines)
		}
	}
}

func FuzzParseHaCf(f *testing.F) {
	addSeeds(f, HaCfFile,
		hacfBase,
		hacfBase+"keepalive 500ms\ndeadtime 1.5\nwarntime 1\ninitdead 12\n",
		hacfBase+"mcast eth0 239.0.0.1 694 1 0\nmcast6 eth0 ff02::1:2 694 1 1\nbcast eth1 eth2\n",
		hacfBase+"udpport 700\nucast eth0 10.0.0.3 10.0.0.4\nucast6 eth0 fd00::2\n",
		hacfBase+"kepalive 2\ncrm respawn\nping_group g 10.0.0.1\nrespawn u /bin/x\nenv A=b\n",
		"keepalive 99999999999999999999999\ndeadtime .\ninitdead -0\n",
		"node a,b\nnice_failback on\n# only\n",
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, diags := ParseHaCf("f", bytes.NewReader(data))
		if c == nil {
			t.Fatal("nil config")
		}
		checkFuzzDiags(t, data, diags)
		if !HasErrors(diags) {
			if len(c.Media) == 0 || len(c.Nodes) == 0 {
				t.Fatalf("config without errors breaks the rules: %+v", c)
			}
			if err := c.CheckTimings(); err != nil {
				t.Fatalf("config without errors has timings the core refuses: %v", err)
			}
			for _, m := range c.Media {
				if m.Iface == "" || m.Port < 1 || m.Port > 65535 {
					t.Fatalf("bad medium %+v", m)
				}
			}
		}
	})
}

func FuzzParseAuthkeys(f *testing.F) {
	addSeeds(f, AuthkeysFile,
		"auth 1\n1 sha1 secret\n",
		"auth 2\n1 sha256 a\n2 blake2b b\n3 crc\n4 md5 x\n",
		"auth 1\n1 blake2b "+strings.Repeat("k", 65)+"\n",
		"auth 16\n0 sha1\n1 rot13 s\n1 sha1 two words\nauth 1\n",
		"# c\n  # c\n\nauth 1\n1 sha1 s#x\n",
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, diags := ParseAuthkeys("f", bytes.NewReader(data))
		checkFuzzDiags(t, data, diags)
		if !HasErrors(diags) {
			k, ok := a.ActiveKey()
			if !ok || a.Active < 1 || a.Active > 15 {
				t.Fatalf("no valid active key: %+v", a)
			}
			if k.Method != "crc" && k.Secret == "" {
				t.Fatalf("active key without secret: %+v", k)
			}
			seen := map[int]bool{}
			var keys []wire.Key
			for _, k := range a.Keys {
				if seen[k.Index] || strings.ContainsAny(k.Secret, " \t\n") {
					t.Fatalf("bad key %+v in %+v", k, a)
				}
				seen[k.Index] = true
				keys = append(keys, wire.Key{Index: k.Index, Method: k.Method, Secret: k.Secret})
			}
			// What the parser accepts, the daemon's keyring takes.
			if _, err := wire.NewKeyring(a.Active, keys); err != nil {
				t.Fatalf("accepted authkeys the keyring refuses: %v", err)
			}
		}
	})
}

func FuzzParseHaresources(f *testing.F) {
	addSeeds(f, HaresourcesFile,
		"node1 IPaddr::10.0.0.1 web\n",
		"node1 10.0.0.1\nnode2 10.0.0.2/24\nnode1 10.0.0.3/24/eth0\nnode2 10.0.0.4/24/eth0/10.0.0.255\n",
		"node1 web \\\n  db \\ # c\n  10.0.0.999\nnode2 x\n",
		"node1 IPaddr2::10.0.0.1/255.0.255.0 Filesystem::::/mnt ::x ../y\n",
		"node1 web \\",
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		groups, diags := ParseHaresources("f", bytes.NewReader(data), hbdAgents)
		checkFuzzDiags(t, data, diags)
		keys := map[string]bool{}
		for _, g := range groups {
			if g.Preferred == "" || len(g.Resources) == 0 || keys[g.Key()] {
				t.Fatalf("bad group %+v", g)
			}
			keys[g.Key()] = true
			for _, r := range g.Resources {
				if r.Name == "" || strings.ContainsAny(r.Name, "/") {
					t.Fatalf("bad resource %+v", r)
				}
			}
		}
	})
}
