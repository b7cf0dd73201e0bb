package wire

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strconv"
	"sync"

	"golang.org/x/crypto/blake2b"
)

// Key is one authkeys entry: "Index Method Secret".
type Key struct {
	Index  int    // 0..MaxKeyIndex; travels on the wire with each digest
	Method string // one of Methods()
	Secret string // ignored by crc, required by every other method
}

// MaxKeyIndex is the largest key index (Heartbeat keeps 16 slots).
const MaxKeyIndex = 15

// The signature methods. crc, md5 and sha1 are Heartbeat's; sha256 and
// blake2b are hbd's and only for clusters where every node is hbd.
const (
	MethodCRC     = "crc"     // CRC-32 (see crc.go); no secret, detects corruption only
	MethodMD5     = "md5"     // HMAC-MD5
	MethodSHA1    = "sha1"    // HMAC-SHA1
	MethodSHA256  = "sha256"  // HMAC-SHA256
	MethodBLAKE2b = "blake2b" // keyed BLAKE2b-256, secret of 1..64 bytes
)

// Methods returns the method names a Key may use, Heartbeat's first.
func Methods() []string {
	return []string{MethodCRC, MethodMD5, MethodSHA1, MethodSHA256, MethodBLAKE2b}
}

// KnownMethod reports whether name is a method a Keyring accepts.
func KnownMethod(name string) bool {
	for _, m := range Methods() {
		if m == name {
			return true
		}
	}
	return false
}

// Keyring signs outgoing messages with its active key and accepts incoming
// messages signed with any of its keys, so keys can be rotated one node at
// a time. A Keyring is immutable and safe for concurrent use.
type Keyring struct {
	active  *signer
	byIndex [MaxKeyIndex + 1]*signer
}

// NewKeyring builds a keyring from authkeys entries; active is the index
// that signs outgoing messages and must be one of keys. It fails on an
// unknown method, an index out of range or used twice, or a secret the
// method cannot use.
func NewKeyring(active int, keys []Key) (*Keyring, error) {
	kr := &Keyring{}
	for _, k := range keys {
		if k.Index < 0 || k.Index > MaxKeyIndex {
			return nil, fmt.Errorf("wire: key index %d out of range 0..%d", k.Index, MaxKeyIndex)
		}
		if kr.byIndex[k.Index] != nil {
			return nil, fmt.Errorf("wire: key index %d given twice", k.Index)
		}
		s, err := newSigner(k)
		if err != nil {
			return nil, fmt.Errorf("wire: key %d: %w", k.Index, err)
		}
		kr.byIndex[k.Index] = s
	}
	if active < 0 || active > MaxKeyIndex || kr.byIndex[active] == nil {
		return nil, fmt.Errorf("wire: active key index %d is not among the keys", active)
	}
	kr.active = kr.byIndex[active]
	return kr, nil
}

// Active returns the key that signs outgoing messages.
func (kr *Keyring) Active() Key { return kr.active.key }

// signer computes one key's digests. Hash states and scratch buffers are
// pooled so signing and verifying do not allocate in the steady state.
type signer struct {
	key  Key
	crc  bool
	pool sync.Pool // *macState
}

type macState struct {
	h   hash.Hash
	buf []byte             // scratch for the classic rendering
	sum [blake2b.Size]byte // scratch for the binary digest
}

// CheckKey reports why a Keyring cannot use k (an unknown method, a missing
// secret, a secret the method cannot take), or nil. It is the one rule of
// what a key may be: NewKeyring applies it, and so does the authkeys
// parser, so `hbd check` accepts exactly the keys `hbd run` can use.
func CheckKey(k Key) error {
	if !KnownMethod(k.Method) {
		return fmt.Errorf("unknown method %q (known: %v)", k.Method, Methods())
	}
	if k.Method != MethodCRC && k.Secret == "" {
		return fmt.Errorf("method %s needs a secret", k.Method)
	}
	if k.Method == MethodBLAKE2b && len(k.Secret) > blake2b.Size {
		return fmt.Errorf("blake2b secret is %d bytes, at most %d allowed", len(k.Secret), blake2b.Size)
	}
	return nil
}

func newSigner(k Key) (*signer, error) {
	if err := CheckKey(k); err != nil {
		return nil, err
	}
	secret := []byte(k.Secret)
	var mk func() hash.Hash
	switch k.Method {
	case MethodCRC:
		mk = func() hash.Hash { return new(crc32MSB) }
	case MethodMD5:
		mk = func() hash.Hash { return hmac.New(md5.New, secret) }
	case MethodSHA1:
		mk = func() hash.Hash { return hmac.New(sha1.New, secret) }
	case MethodSHA256:
		mk = func() hash.Hash { return hmac.New(sha256.New, secret) }
	default: // MethodBLAKE2b: CheckKey let nothing else through
		mk = func() hash.Hash {
			h, err := blake2b.New256(secret)
			if err != nil { // unreachable: CheckKey checked the key length
				panic(err)
			}
			return h
		}
	}
	s := &signer{key: k, crc: k.Method == MethodCRC}
	s.pool.New = func() any { return &macState{h: mk()} }
	return s, nil
}

func (s *signer) get() *macState {
	st := s.pool.Get().(*macState)
	st.h.Reset()
	return st
}

func (s *signer) put(st *macState) {
	if cap(st.buf) > MaxDatagram*2 {
		st.buf = nil
	}
	s.pool.Put(st)
}

// appendDigest appends "<index> <hex digest of what st.h has seen>" to dst.
func (s *signer) appendDigest(dst []byte, st *macState) []byte {
	dst = appendLen(dst, s.key.Index)
	dst = append(dst, ' ')
	if s.crc {
		// Heartbeat prints the CRC with %x: no leading zeros.
		return strconv.AppendUint(dst, uint64(st.h.(hash.Hash32).Sum32()), 16)
	}
	return hex.AppendEncode(dst, st.h.Sum(st.sum[:0]))
}
