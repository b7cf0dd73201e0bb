package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestParseAuthkeysDiagnostics(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []want
	}{
		{"sha1", "auth 1\n1 sha1 secret\n", nil},
		{"hbd methods", "auth 2\n1 sha256 a\n2 blake2b b\n", nil},
		{"comments", "# keys\n   # indented comment\n\nauth 1\n1 sha1 s#not-a-comment\n", nil},
		{"empty", "", []want{e(0, "no keys: write `auth 1` and `1 sha1 SECRET`")}},
		{"only comments", "# nothing\n", []want{e(0, "no keys")}},
		{"missing auth", "1 sha1 secret\n", []want{e(0, "no `auth N` line: add `auth 1`")}},
		{"auth not defined", "auth 2\n1 sha1 secret\n", []want{e(1, "auth 2: key 2 is not defined")}},
		{"auth without keys", "auth 1\n", []want{e(1, "key 1 is not defined")}},
		{"second auth", "auth 1\nauth 1\n1 sha1 s\n", []want{e(2, "a second `auth` line (the first is on line 1)")}},
		{"auth arity", "auth 1 2\n1 sha1 s\n", []want{e(1, "`auth` takes one key index"), e(0, "no `auth N` line")}},
		{"auth range", "auth 16\n1 sha1 s\n", []want{e(1, "auth key index 16 is out of range; expected 1 to 15"), e(0, "no `auth N` line")}},
		{"auth word", "auth one\n1 sha1 s\n", []want{e(1, `auth key index "one" is not a number`), e(0, "no `auth N` line")}},
		{"duplicate index", "auth 1\n1 sha1 a\n1 md5 b\n", []want{e(3, "key 1 is defined twice (also on line 2)")}},
		{"index zero", "auth 1\n1 sha1 a\n0 sha1 b\n", []want{e(3, "key index 0 is out of range; expected 1 to 15")}},
		{"index 16", "auth 1\n1 sha1 a\n16 sha1 b\n", []want{e(3, "key index 16 is out of range")}},
		{"index 15 ok", "auth 15\n15 sha1 a\n", nil},
		{"not an index", "auth 1\n1 sha1 a\nkey sha1 b\n", []want{e(3, "expected `auth N` or `N METHOD SECRET`")}},
		{"unknown method", "auth 1\n1 rot13 s\n", []want{e(2, `key 1: unknown method "rot13"; known methods: crc, md5, sha1, sha256, blake2b`), e(1, "key 1 is not defined")}},
		{"method case", "auth 1\n1 SHA1 s\n", []want{e(2, `unknown method "SHA1"`), e(1, "key 1 is not defined")}},
		{"no method", "auth 1\n1\n", []want{e(2, "key 1 has no method"), e(1, "key 1 is not defined")}},
		{"missing secret", "auth 1\n1 sha1\n", []want{e(2, "key 1: sha1 needs a secret: `1 sha1 SECRET`"), e(1, "key 1 is not defined")}},
		{"missing secret sha256", "auth 1\n1 sha256\n", []want{e(2, "sha256 needs a secret"), e(1, "not defined")}},
		{"two-word secret", "auth 1\n1 sha1 two words\n", []want{e(2, "the secret must be one word"), e(1, "not defined")}},
		{"crc", "auth 1\n1 crc\n", nil}, // weak, but that is Load's rule (authpolicy.go)
		{"crc with secret", "auth 1\n1 crc secret\n", []want{w(2, "crc takes no secret")}},
		{"md5", "auth 1\n1 md5 secret\n", []want{w(2, "md5 is weak")}},
		{"blake2b 64-byte secret", "auth 1\n1 blake2b " + strings.Repeat("k", 64) + "\n", nil},
		{"blake2b secret too long", "auth 1\n1 blake2b " + strings.Repeat("k", 65) + "\n",
			[]want{e(2, "key 1: blake2b secret is 65 bytes, at most 64 allowed"), e(1, "key 1 is not defined")}},
		{"every error reported", "auth 3\n1 sha1\n2 foo x\n2 sha1 y\n2 sha1 z\n",
			[]want{e(1, "key 3 is not defined"), e(2, "needs a secret"), e(3, "unknown method"), e(5, "key 2 is defined twice (also on line 4)")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := ParseAuthkeys("authkeys", strings.NewReader(tt.in))
			checkDiags(t, got, tt.want)
		})
	}
}

func TestParseAuthkeysKeys(t *testing.T) {
	a, diags := ParseAuthkeys("authkeys", strings.NewReader("auth 2\n1 sha1 old#secret\n2 sha256 new\n3 crc\n"))
	checkDiags(t, diags, nil)
	if a.Active != 2 || a.Pos.Line != 1 {
		t.Errorf("Active = %d at line %d, want 2 at line 1", a.Active, a.Pos.Line)
	}
	want := []Key{
		{Index: 1, Method: "sha1", Secret: "old#secret", Pos: Pos{"authkeys", 2}},
		{Index: 2, Method: "sha256", Secret: "new", Pos: Pos{"authkeys", 3}},
		{Index: 3, Method: "crc", Pos: Pos{"authkeys", 4}},
	}
	if len(a.Keys) != len(want) {
		t.Fatalf("got %d keys, want %d: %+v", len(a.Keys), len(want), a.Keys)
	}
	for i := range want {
		if a.Keys[i] != want[i] {
			t.Errorf("key %d = %+v, want %+v", i, a.Keys[i], want[i])
		}
	}
	k, ok := a.ActiveKey()
	if !ok || k.Method != "sha256" || k.Secret != "new" {
		t.Errorf("ActiveKey = %+v, %v", k, ok)
	}
}

// TestWeakKeys: a crc key, the sample's placeholder and a short secret are
// errors for `hbd run` (Strict), warnings naming the line for `hbd check`,
// and warnings for both with `insecure_auth yes`.
func TestWeakKeys(t *testing.T) {
	const good = "1 sha1 0123456789abcdef\n"
	tests := []struct {
		name string
		keys string // authkeys after "auth 1\n"
		line int    // the weak key's line, 0 for none
		sub  string
	}{
		{"strong", good, 0, ""},
		{"sixteen characters", "1 sha256 abcdefghijklmnop\n", 0, ""},
		{"sixteen multibyte characters", "1 sha256 ééééééééééééééé€\n", 0, ""},
		{"crc next to a real key", good + "2 crc\n", 3, "key 2: crc authenticates nothing"},
		{"crc alone", "1 crc\n", 2, "crc authenticates nothing"},
		{"sample placeholder", "1 sha1 REPLACE-ME-with-a-long-random-secret-0123456789\n", 2, "the secret is the sample's placeholder"},
		{"placeholder in another key", good + "2 sha256 replace-me-too-0123456789\n", 3, "key 2: the secret is the sample's placeholder"},
		{"short secret", "1 sha1 fifteen-chars-x\n", 2, "the secret has 15 characters, fewer than 16"},
		{"short second key", good + "3 sha256 abc\n", 3, "key 3: the secret has 3 characters"},
	}
	modes := []struct {
		name             string
		strict, insecure bool
		sev              Severity
		tail             string
	}{
		{"check", false, false, SevWarning, "`hbd run` refuses to start with it unless ha.cf says `insecure_auth yes`"},
		{"run", true, false, SevError, "(or set `insecure_auth yes` in ha.cf to accept it knowingly)"},
		{"check insecure_auth", false, true, SevWarning, "accepted because ha.cf says `insecure_auth yes`"},
		{"run insecure_auth", true, true, SevWarning, "accepted because ha.cf says `insecure_auth yes`"},
	}
	for _, tt := range tests {
		for _, m := range modes {
			t.Run(tt.name+"/"+m.name, func(t *testing.T) {
				hacf := "node node1\nucast lo 127.0.0.1\nauto_failback on\n"
				if m.insecure {
					hacf += "insecure_auth yes\n"
				}
				dir := writeConfig(t, map[string]string{HaCfFile: hacf, AuthkeysFile: "auth 1\n" + tt.keys, HaresourcesFile: ""})
				cfg, diags := Load(dir, LoadOptions{Node: "node1", Strict: m.strict})
				var got []Diag
				for _, d := range diags {
					if filepath.Base(d.Pos.File) == AuthkeysFile {
						got = append(got, d)
					}
				}
				if tt.line == 0 {
					if len(got) != 0 || cfg == nil {
						t.Fatalf("strong keys: config %v, diagnostics %v", cfg != nil, got)
					}
					return
				}
				if len(got) != 1 {
					t.Fatalf("got %d authkeys diagnostics, want 1: %v", len(got), got)
				}
				d := got[0]
				if d.Pos.Line != tt.line || d.Severity != m.sev || !strings.Contains(d.Msg, tt.sub) || !strings.Contains(d.Msg, m.tail) {
					t.Errorf("got %v\nwant line %d, %v, %q ... %q", d, tt.line, m.sev, tt.sub, m.tail)
				}
				if (cfg == nil) != (m.sev == SevError) {
					t.Errorf("config accepted = %v with a %v", cfg != nil, m.sev)
				}
			})
		}
	}
}
