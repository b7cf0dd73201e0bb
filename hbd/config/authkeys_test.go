package config

import (
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
		{"crc", "auth 1\n1 crc\n", []want{w(2, "crc is not real authentication")}},
		{"crc with secret", "auth 1\n1 crc secret\n", []want{w(2, "crc takes no secret"), w(2, "crc is not real authentication")}},
		{"md5", "auth 1\n1 md5 secret\n", []want{w(2, "md5 is not real authentication")}},
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
	checkDiags(t, diags, []want{w(4, "crc is not real authentication")})
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
