package config

import (
	"io"
	"strconv"
	"strings"

	"github.com/hbdproject/hbd/hbd/wire"
)

// AuthMethods returns the authkeys methods hbd knows, weakest first. crc, md5
// and sha1 are Heartbeat's; sha256 (HMAC-SHA256) and blake2b (keyed
// BLAKE2b-256) are hbd's own.
func AuthMethods() []string { return wire.Methods() }

// ParseAuthkeys reads an authkeys file. name is used in diagnostics. File
// permissions are not checked here (the reader has none); Load does that.
//
// Lines are `auth N` (the key that signs what we send) and `N METHOD
// [SECRET]` (every listed key is accepted on receive). Lines whose first
// non-blank character is # are comments; a # inside a secret is part of it.
func ParseAuthkeys(name string, r io.Reader) (Auth, []Diag) {
	d := diags{file: name}
	var a Auth
	text, err := readAll(r)
	if err != nil {
		d.errorf(0, "cannot read authkeys: %v", err)
		return a, d.list
	}
	keyLine := map[int]int{}
	for i, raw := range strings.Split(text, "\n") {
		line := i + 1
		fields := strings.Fields(raw)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if fields[0] == "auth" {
			if a.Pos.Line != 0 {
				d.errorf(line, "a second `auth` line (the first is on line %d); keep one `auth N`", a.Pos.Line)
				continue
			}
			if len(fields) != 2 {
				d.errorf(line, "`auth` takes one key index (e.g. `auth 1`), got %d words", len(fields)-1)
				continue
			}
			n, err := parseInt(fields[1], "auth key index", 1, 15)
			if err != nil {
				d.errorf(line, "%v", err)
				continue
			}
			a.Active, a.Pos = n, Pos{name, line}
			continue
		}
		idx, err := strconv.Atoi(fields[0])
		if err != nil {
			d.errorf(line, "expected `auth N` or `N METHOD SECRET` (e.g. `1 sha1 SECRET`), got %q", fields[0])
			continue
		}
		if idx < 1 || idx > 15 {
			d.errorf(line, "key index %d is out of range; expected 1 to 15", idx)
			continue
		}
		if prev, ok := keyLine[idx]; ok {
			d.errorf(line, "key %d is defined twice (also on line %d); give each key its own index", idx, prev)
			continue
		}
		if len(fields) < 2 {
			d.errorf(line, "key %d has no method; expected `%d METHOD SECRET` with METHOD one of %s", idx, idx, strings.Join(AuthMethods(), ", "))
			continue
		}
		method := fields[1]
		if !wire.KnownMethod(method) {
			d.errorf(line, "key %d: unknown method %q; known methods: %s", idx, method, strings.Join(AuthMethods(), ", "))
			continue
		}
		k := Key{Index: idx, Method: method, Pos: Pos{name, line}}
		switch {
		case method == "crc":
			if len(fields) > 2 {
				d.warnf(line, "key %d: crc takes no secret; the secret is ignored", idx)
			}
		case len(fields) < 3:
			d.errorf(line, "key %d: %s needs a secret: `%d %s SECRET`", idx, method, idx, method)
			continue
		case len(fields) > 3:
			d.errorf(line, "key %d: the secret must be one word without spaces (Heartbeat reads only the first word)", idx)
			continue
		default:
			k.Secret = fields[2]
		}
		// The keyring's own rule: what it refuses, `hbd run` would refuse.
		if err := wire.CheckKey(wire.Key{Index: idx, Method: k.Method, Secret: k.Secret}); err != nil {
			d.errorf(line, "key %d: %v", idx, err)
			continue
		}
		if method == "md5" {
			d.warnf(line, "key %d: md5 is weak (HMAC-MD5); use sha1, or sha256/blake2b between hbd nodes", idx)
		}
		keyLine[idx] = line
		a.Keys = append(a.Keys, k)
	}
	switch {
	case a.Pos.Line == 0 && len(a.Keys) == 0:
		d.errorf(0, "no keys: write `auth 1` and `1 sha1 SECRET` (the same file on every node, mode 0600)")
	case a.Pos.Line == 0:
		d.errorf(0, "no `auth N` line: add `auth %d` to choose the key that signs outgoing packets", a.Keys[0].Index)
	default:
		if _, ok := keyLine[a.Active]; !ok {
			d.errorf(a.Pos.Line, "auth %d: key %d is not defined; add a line `%d sha1 SECRET` or pick one of the listed keys", a.Active, a.Active, a.Active)
		}
	}
	return a, d.list
}
