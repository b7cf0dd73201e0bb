package config

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MinSecretLength is the shortest authkeys secret `hbd run` accepts
// without `insecure_auth yes`: shorter ones can be guessed from one
// captured packet by an offline search.
const MinSecretLength = 16

// samplePlaceholder marks the secret of the sample authkeys (etc/ha.d),
// which `make install` puts in place and which must be replaced.
const samplePlaceholder = "REPLACE-ME"

// weakKeyRules checks the keys of authkeys against what makes forging a
// heartbeat easy: a crc key (every listed key is accepted on receive, and
// crc needs no secret), the sample's placeholder secret, a secret shorter
// than MinSecretLength. strict is `hbd run`: each is an error unless
// ha.cf says `insecure_auth yes`; `hbd check` reports the same findings
// as warnings, saying that run refuses them. With insecure_auth they are
// warnings for both.
func weakKeyRules(a Auth, insecure, strict bool) []Diag {
	var out []Diag
	for _, k := range a.Keys {
		why := weakKey(k)
		if why == "" {
			continue
		}
		d := Diag{Pos: k.Pos, Severity: SevWarning}
		switch {
		case insecure:
			d.Msg = why + "; accepted because ha.cf says `insecure_auth yes`"
		case strict:
			d.Severity = SevError
			d.Msg = why + " (or set `insecure_auth yes` in ha.cf to accept it knowingly)"
		default:
			d.Msg = why + "; `hbd run` refuses to start with it unless ha.cf says `insecure_auth yes`"
		}
		out = append(out, d)
	}
	return out
}

// weakKey says what makes k easy to forge, with the fix, or "".
func weakKey(k Key) string {
	n := utf8.RuneCountInString(k.Secret)
	switch {
	case k.Method == "crc":
		return fmt.Sprintf("key %d: crc authenticates nothing (no secret), and every listed key is accepted on receive, "+
			"so anyone who can send to the heartbeat port can forge any message; remove this key", k.Index)
	case strings.Contains(strings.ToUpper(k.Secret), samplePlaceholder):
		return fmt.Sprintf("key %d: the secret is the sample's placeholder; put the same long random secret "+
			"(e.g. `openssl rand -hex 32`) on every node", k.Index)
	case n < MinSecretLength:
		return fmt.Sprintf("key %d: the secret has %d characters, fewer than %d; put a long random one "+
			"(e.g. `openssl rand -hex 32`) on every node", k.Index, n, MinSecretLength)
	}
	return ""
}
