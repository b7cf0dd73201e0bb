package wire

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
)

// Limits of the decoder. A datagram longer than MaxDatagram is rejected
// before any parsing. Heartbeat v1's messages are a few hundred bytes (the
// captures: 263 to 389) and it compresses anything above 2 KB when
// compression is on; 16 KiB leaves room for many nodes and long fields
// while keeping a flood of jumbo datagrams cheap to reject. (64 KiB would
// make the limit unreachable over UDP/IPv4, whose payload stops at 65507.)
const (
	MaxDatagram = 16 << 10 // bytes of UDP payload
	MaxFields   = 256      // fields per message, auth included
	MaxNameLen  = 128      // bytes of a field name
)

// Frame delimiters of the netstring format.
const (
	frameStart = "###\n"
	frameEnd   = "%%%\n"
)

// maxDigestHex bounds the hex digest accepted on the wire (SHA-512 size).
const maxDigestHex = 128

// Encode renders m in Heartbeat's netstring format and signs it with the
// active key: the auth field is appended after m's fields and the trailer
// after "%%%\n". m is not modified. It fails if a field has an invalid
// name, a type other than String or Binary, a duplicate or reserved name,
// or if the result would exceed MaxDatagram.
func (kr *Keyring) Encode(m *Message) ([]byte, error) {
	// Size the buffer once: field netstrings plus auth, markers and trailer.
	n := len(frameStart) + len(frameEnd) + 2*(24+maxDigestHex)
	for _, f := range m.Fields {
		n += 12 + len(f.Name) + len(f.Value)
	}
	return kr.AppendEncode(make([]byte, 0, min(n, MaxDatagram+1024)), m)
}

// AppendEncode is Encode appending to dst (which may be reused between
// calls to avoid allocating). On error dst is returned unchanged.
func (kr *Keyring) AppendEncode(dst []byte, m *Message) ([]byte, error) {
	return kr.appendEncode(dst, m, false)
}

// AppendEncodeRoutine is AppendEncode of a routine message (one its
// receivers may read at their next wake-up rather than at once): the
// field FHbdRoutine=1 comes first, before m's, so that the datagram
// begins with RoutinePrefix, which a receiver's kernel can test without
// parsing it. The field is signed as any other; Heartbeat keeps it as an
// unknown field. m must not have it.
func (kr *Keyring) AppendEncodeRoutine(dst []byte, m *Message) ([]byte, error) {
	return kr.appendEncode(dst, m, true)
}

// routineField is the first field of a routine message.
var routineField = Field{Name: FHbdRoutine, Type: String, Value: []byte("1")}

// RoutinePrefix is how every routine datagram begins (AppendEncodeRoutine):
// the frame's start and the routine field.
var RoutinePrefix = string(appendFieldNetstring([]byte(frameStart), routineField.Type, routineField.Name, routineField.Value))

func (kr *Keyring) appendEncode(dst []byte, m *Message, routine bool) ([]byte, error) {
	if err := checkFields(m.Fields, routine); err != nil {
		return dst, err
	}
	s := kr.active
	st := s.get()
	defer s.put(st)

	start := len(dst)
	dst = append(dst, frameStart...)
	st.buf = st.buf[:0]
	if routine {
		f := &routineField
		dst = appendFieldNetstring(dst, f.Type, f.Name, f.Value)
		st.buf = appendClassicLine(st.buf, f.Type, f.Name, f.Value)
	}
	for _, f := range m.Fields {
		dst = appendFieldNetstring(dst, f.Type, f.Name, f.Value)
		st.buf = appendClassicLine(st.buf, f.Type, f.Name, f.Value)
	}
	st.h.Write(st.buf)
	var digest [16 + maxDigestHex]byte
	auth := s.appendDigest(digest[:0], st)
	dst = appendFieldNetstring(dst, String, FAuth, auth)
	dst = append(dst, frameEnd...)

	st.h.Reset()
	st.h.Write(dst[start:])
	trailer := s.appendDigest(digest[:0], st)
	dst = appendNetstring(dst, trailer)
	if n := len(dst) - start; n > MaxDatagram {
		return dst[:start], fmt.Errorf("wire: encoded message is %d bytes, more than %d", n, MaxDatagram)
	}
	return dst, nil
}

// checkFields checks the fields to encode, after the routine field if
// routine.
func checkFields(fs []Field, routine bool) error {
	lead := 0
	var seen uint64 // nameBit of the names before
	if routine {
		lead, seen = 1, nameBit(FHbdRoutine)
	}
	if len(fs)+lead+1 > MaxFields {
		return fmt.Errorf("wire: %d fields, at most %d allowed", len(fs)+lead, MaxFields-1)
	}
	for i, f := range fs {
		if !validName(f.Name) {
			return fmt.Errorf("wire: invalid field name %q", f.Name)
		}
		if f.Name == FAuth {
			return fmt.Errorf("wire: field name %q is reserved for the signature", FAuth)
		}
		if f.Type != String && f.Type != Binary {
			return fmt.Errorf("wire: field %q has unsupported type %d", f.Name, f.Type)
		}
		if bit := nameBit(f.Name); seen&bit == 0 {
			seen |= bit
			continue
		}
		if routine && f.Name == FHbdRoutine {
			return fmt.Errorf("wire: field %q given twice", f.Name)
		}
		for _, g := range fs[:i] {
			if g.Name == f.Name {
				return fmt.Errorf("wire: field %q given twice", f.Name)
			}
		}
	}
	return nil
}

// nameBit is a bit per class of field name (its length, first and last
// byte), for telling a new name apart from those a message has had so
// far without comparing it with each: a name whose bit was not set by
// the names before it is new; one whose bit was set may be a duplicate,
// which only comparing it with the names before can tell. The weights
// put the names of status and acknowledgement messages, auth included,
// in distinct classes (TestNameBitsOfStatus), so checking them costs no
// comparison. name is not empty (validName).
func nameBit[T ~string | ~[]byte](name T) uint64 {
	return 1 << ((uint(len(name)) + 2*uint(name[0]) + 11*uint(name[len(name)-1])) & 63)
}

// validName: 1..MaxNameLen printable ASCII bytes, no space, no '=', not
// starting with '(' (which would read as a type tag in the classic text).
func validName[T ~string | ~[]byte](n T) bool {
	if len(n) == 0 || len(n) > MaxNameLen || n[0] == '(' {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !nameByte(n[i]) {
			return false
		}
	}
	return true
}

// nameByte: a byte a field name may hold, printable ASCII but space and
// '='.
func nameByte(c byte) bool { return c > ' ' && c <= '~' && c != '=' }

// appendFieldNetstring appends "<len>:(<type>)<name>=<value>,"; t is
// String or Binary (checkFields), one digit.
func appendFieldNetstring(dst []byte, t FieldType, name string, value []byte) []byte {
	dst = appendLen(dst, 3+len(name)+1+len(value))
	dst = append(dst, ':', '(', '0'+byte(t), ')')
	dst = append(dst, name...)
	dst = append(dst, '=')
	dst = append(dst, value...)
	return append(dst, ',')
}

func appendNetstring(dst, content []byte) []byte {
	dst = appendLen(dst, len(content))
	dst = append(dst, ':')
	dst = append(dst, content...)
	return append(dst, ',')
}

// appendLen appends n >= 0 in decimal; the lengths of most fields, and
// key indexes, take the short ways.
func appendLen(dst []byte, n int) []byte {
	switch {
	case n < 10:
		return append(dst, '0'+byte(n))
	case n < 100:
		return append(dst, '0'+byte(n/10), '0'+byte(n%10))
	}
	return strconv.AppendInt(dst, int64(n), 10)
}

// appendClassicLine appends the field as the auth signature sees it:
// "name=value\n" for strings, "(1)name=<std base64>\n" for binary.
func appendClassicLine(dst []byte, t FieldType, name string, value []byte) []byte {
	if t == Binary {
		dst = append(dst, "(1)"...)
		dst = append(dst, name...)
		dst = append(dst, '=')
		dst = base64.StdEncoding.AppendEncode(dst, value)
	} else {
		dst = append(dst, name...)
		dst = append(dst, '=')
		dst = append(dst, value...)
	}
	return append(dst, '\n')
}

// Decode parses a datagram, checks both signatures with the key each one
// names (any key of the ring), and returns the message without its auth
// field. Every failure is a *DecodeError; Reason(err) gives the reason to
// count. Decode never panics, never reads past b, allocates at most in
// proportion to len(b), and does not keep b (values are copied).
//
// Only canonical encodings are accepted (no leading zeros in lengths or
// type tags, no bytes after the trailer, no duplicate field names), so a
// message Decode accepts re-encodes with the same key to the same bytes
// when its auth field was the last field, as Heartbeat and hbd send it.
func (kr *Keyring) Decode(b []byte) (*Message, error) {
	m := &Message{}
	if err := kr.DecodeInto(m, b); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeInto is Decode into m, whose fields and storage it reuses (Reset):
// once they are large enough, decoding allocates nothing. On error m is
// empty.
func (kr *Keyring) DecodeInto(m *Message, b []byte) error {
	m.Reset()
	if cap(m.Fields) == 0 {
		m.Fields = make([]Field, 0, fieldsCap)
	}
	fr, derr := parseFrame(b, m.Fields)
	if derr != nil {
		return derr
	}
	if err := kr.verify(b, &fr); err != nil {
		m.Fields = fr.fields[:0] // keeps the room a long message made
		return err
	}
	fr.into(m, b)
	return nil
}

// verify checks both signatures of the parsed frame of b.
func (kr *Keyring) verify(b []byte, fr *frame) *DecodeError {
	if fr.auth < 0 {
		return dropErr(DropNoAuth, fr.bodyEnd, "no %s field", FAuth)
	}
	if fr.trailer == nil {
		return dropErr(DropNoAuth, fr.bodyEnd, "no trailer after %q", frameEnd)
	}
	af := fr.fields[fr.auth]
	if af.Type != String {
		return dropErr(DropMalformed, fr.authOff, "%s field is not a string", FAuth)
	}
	aIdx, aHex, ok := splitDigest(af.Value)
	if !ok {
		return dropErr(DropMalformed, fr.authOff, "%s field %q is not \"<index> <hex>\"", FAuth, clip(af.Value))
	}
	tIdx, tHex, ok := splitDigest(fr.trailer)
	if !ok {
		return dropErr(DropMalformed, fr.bodyEnd, "trailer %q is not \"<index> <hex>\"", clip(fr.trailer))
	}
	as := kr.signer(aIdx)
	if as == nil {
		return dropErr(DropUnknownKey, fr.authOff, "%s field names key %d, not in the keyring", FAuth, aIdx)
	}
	ts := kr.signer(tIdx)
	if ts == nil {
		return dropErr(DropUnknownKey, fr.bodyEnd, "trailer names key %d, not in the keyring", tIdx)
	}

	var want [16 + maxDigestHex]byte
	st := as.get()
	st.buf = st.buf[:0]
	for i, f := range fr.fields {
		if i != fr.auth {
			st.buf = appendClassicLine(st.buf, f.Type, f.Name, f.Value)
		}
	}
	st.h.Write(st.buf)
	authOK := digestEqual(as.appendDigest(want[:0], st), aIdx, aHex)

	if ts == as { // as both signatures are made: one state serves both
		st.h.Reset()
	} else {
		as.put(st)
		st = ts.get()
	}
	st.h.Write(b[:fr.bodyEnd])
	trailerOK := digestEqual(ts.appendDigest(want[:0], st), tIdx, tHex)
	ts.put(st)

	switch {
	case !authOK && !trailerOK:
		return dropErr(DropBadSignature, fr.authOff, "%s field and trailer digests do not match", FAuth)
	case !authOK:
		return dropErr(DropBadSignature, fr.authOff, "%s field digest does not match (key %d)", FAuth, aIdx)
	case !trailerOK:
		return dropErr(DropBadSignature, fr.bodyEnd, "trailer digest does not match (key %d)", tIdx)
	}
	return nil
}

func (kr *Keyring) signer(idx int) *signer {
	if idx < 0 || idx > MaxKeyIndex {
		return nil
	}
	return kr.byIndex[idx]
}

// digestEqual compares the computed "<idx> <hex>" with the received one in
// constant time (for equal lengths).
func digestEqual(want []byte, idx int, got []byte) bool {
	var prefix [8]byte
	p := appendLen(prefix[:0], idx)
	p = append(p, ' ')
	if !bytes.HasPrefix(want, p) {
		return false
	}
	return subtle.ConstantTimeCompare(want[len(p):], got) == 1
}

// splitDigest parses "<index> <lowercase hex>" as both signatures write it.
func splitDigest(v []byte) (idx int, hexDigest []byte, ok bool) {
	sp := bytes.IndexByte(v, ' ')
	if sp < 1 || sp > 2 || (sp == 2 && v[0] == '0') {
		return 0, nil, false
	}
	for _, c := range v[:sp] {
		if c < '0' || c > '9' {
			return 0, nil, false
		}
		idx = idx*10 + int(c-'0')
	}
	h := v[sp+1:]
	if len(h) == 0 || len(h) > maxDigestHex {
		return 0, nil, false
	}
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return 0, nil, false
		}
	}
	return idx, h, true
}

func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// frame is a parsed datagram whose field values still point into it.
type frame struct {
	fields  []Field
	auth    int    // index of the auth field in fields, -1 if none
	authOff int    // byte offset of the auth netstring
	bodyEnd int    // offset just past "%%%\n": what the trailer signs
	trailer []byte // trailer content, nil if the datagram ends at bodyEnd
}

// into makes m the frame's message, parsed from b: the auth field is
// removed and the values are copied into m's store (so b is not kept);
// the names of well-known fields were not allocated at all (internName).
// m.Fields is fr.fields, m's own slice that parseFrame filled. The values
// are copied in one piece, b from the first value to the end of the
// last, netstring framing and names included: one copy of some 250 bytes
// costs less than a copy per value. A value's offset in b is told by its
// capacity, which runs to the end of b (netstring).
func (fr *frame) into(m *Message, b []byte) {
	fields := fr.fields
	if fr.auth >= 0 {
		fields = append(fields[:fr.auth], fields[fr.auth+1:]...)
	}
	m.Fields = fields
	if len(fields) == 0 {
		return
	}
	offset := func(v []byte) int { return cap(b) - cap(v) }
	lo := offset(fields[0].Value)
	last := fields[len(fields)-1].Value
	hi := offset(last) + len(last)
	if cap(m.store) < hi-lo {
		m.store = make([]byte, 0, hi-lo)
	}
	m.store = append(m.store[:0], b[lo:hi]...)
	for i := range fields {
		v := fields[i].Value
		o := offset(v) - lo
		fields[i].Value = m.store[o : o+len(v) : o+len(v)]
	}
}

type parser struct {
	b []byte
	p int
}

// literal consumes lit; running out of input while matching is truncation.
func (ps *parser) literal(lit string) *DecodeError {
	rest := ps.b[ps.p:]
	if len(rest) < len(lit) {
		if bytes.HasPrefix([]byte(lit), rest) {
			return dropErr(DropTruncated, len(ps.b), "datagram ends inside %q", lit)
		}
		return dropErr(DropMalformed, ps.p, "expected %q", lit)
	}
	if string(rest[:len(lit)]) != lit {
		return dropErr(DropMalformed, ps.p, "expected %q", lit)
	}
	ps.p += len(lit)
	return nil
}

// netstring consumes "<len>:<content>," and returns the content.
func (ps *parser) netstring() ([]byte, *DecodeError) {
	start := ps.p
	n, i := 0, ps.p
	for ; i < len(ps.b) && ps.b[i] >= '0' && ps.b[i] <= '9'; i++ {
		if i-start == 5 {
			return nil, dropErr(DropMalformed, start, "netstring length has more than 5 digits")
		}
		n = n*10 + int(ps.b[i]-'0')
	}
	if i == len(ps.b) {
		return nil, dropErr(DropTruncated, len(ps.b), "datagram ends inside a netstring length")
	}
	switch {
	case i == start:
		return nil, dropErr(DropMalformed, start, "expected a netstring length, got %q", ps.b[i])
	case ps.b[i] != ':':
		return nil, dropErr(DropMalformed, i, "expected ':' after netstring length, got %q", ps.b[i])
	case i-start > 1 && ps.b[start] == '0':
		return nil, dropErr(DropMalformed, start, "netstring length has a leading zero")
	case n > MaxDatagram:
		return nil, dropErr(DropMalformed, start, "netstring length %d exceeds %d", n, MaxDatagram)
	}
	i++                   // ':'
	if n >= len(ps.b)-i { // content plus ','
		return nil, dropErr(DropTruncated, len(ps.b), "netstring of %d bytes at %d runs past the end", n, start)
	}
	if ps.b[i+n] != ',' {
		return nil, dropErr(DropMalformed, i+n, "netstring not terminated by ','")
	}
	ps.p = i + n + 1
	// The content's capacity runs to the end of b: frame.into tells
	// where a value is in b by it.
	return ps.b[i : i+n], nil
}

// parseFrame parses b; the frame's fields are appended to fields[:0].
func parseFrame(b []byte, fields []Field) (frame, *DecodeError) {
	if len(b) > MaxDatagram {
		return frame{}, dropErr(DropOversized, 0, "datagram is %d bytes, more than %d", len(b), MaxDatagram)
	}
	if len(b) == 0 {
		return frame{}, dropErr(DropTruncated, 0, "empty datagram")
	}
	ps := parser{b: b}
	if err := ps.literal(frameStart); err != nil {
		return frame{}, err
	}
	fr := frame{auth: -1, fields: fields[:0]}
	var seen uint64 // nameBit of the names before
	for {
		if ps.p == len(b) {
			return frame{}, dropErr(DropTruncated, ps.p, "datagram ends before %q", frameEnd)
		}
		if b[ps.p] == frameEnd[0] {
			if err := ps.literal(frameEnd); err != nil {
				return frame{}, err
			}
			break
		}
		off := ps.p
		c, err := ps.netstring()
		if err != nil {
			return frame{}, err
		}
		f, err := parseField(c, off)
		if err != nil {
			return frame{}, err
		}
		if len(fr.fields) == MaxFields {
			return frame{}, dropErr(DropMalformed, off, "more than %d fields", MaxFields)
		}
		if bit := nameBit(f.Name); seen&bit == 0 {
			seen |= bit
		} else {
			for _, g := range fr.fields {
				if g.Name == f.Name {
					return frame{}, dropErr(DropMalformed, off, "field %q given twice", f.Name)
				}
			}
		}
		if f.Name == FAuth {
			fr.auth, fr.authOff = len(fr.fields), off
		}
		fr.fields = append(fr.fields, f)
	}
	fr.bodyEnd = ps.p
	if ps.p == len(b) {
		return fr, nil
	}
	t, err := ps.netstring()
	if err != nil {
		return frame{}, err
	}
	if ps.p != len(b) {
		return frame{}, dropErr(DropMalformed, ps.p, "%d bytes after the trailer", len(b)-ps.p)
	}
	fr.trailer = t
	return fr, nil
}

// parseField parses "(<type>)<name>=<value>"; off is the netstring's offset.
func parseField(c []byte, off int) (Field, *DecodeError) {
	if len(c) == 0 || c[0] != '(' {
		return Field{}, dropErr(DropMalformed, off, "field does not start with \"(type)\"")
	}
	t, i := 0, 1
	for ; i < len(c) && c[i] >= '0' && c[i] <= '9'; i++ {
		if i == 4 {
			return Field{}, dropErr(DropMalformed, off, "field type has more than 3 digits")
		}
		t = t*10 + int(c[i]-'0')
	}
	if i == 1 || i == len(c) || c[i] != ')' || (i > 2 && c[1] == '0') {
		return Field{}, dropErr(DropMalformed, off, "bad field type tag")
	}
	rest := c[i+1:]
	// The name ends at the first '=', a byte no name holds: one pass
	// finds it, past the name's bytes, in place of a search for '='.
	eq := 0
	for eq < len(rest) && nameByte(rest[eq]) {
		eq++
	}
	if eq == len(rest) || rest[eq] != '=' { // a byte no name holds, before any '='
		eq = bytes.IndexByte(rest, '=')
	}
	if eq < 0 {
		return Field{}, dropErr(DropMalformed, off, "field has no '='")
	}
	name := rest[:eq]
	if !validName(name) {
		return Field{}, dropErr(DropMalformed, off, "invalid field name %q", clip(name))
	}
	if t != int(String) && t != int(Binary) {
		return Field{}, dropErr(DropUnsupported, off, "field %q has type %d; only string (0) and binary (1) are supported", clip(name), t)
	}
	return Field{Name: internName(name), Type: FieldType(t), Value: rest[eq+1:]}, nil
}

// internName returns a constant string for the field names Heartbeat
// and hbd send, so decoding them does not allocate: every routine status
// of an hbd peer begins with hbd_routine, and a name made a string anew
// would be an allocation per heartbeat received.
func internName(b []byte) string {
	switch string(b) {
	case FType:
		return FType
	case FStatus:
		return FStatus
	case FDeadtime:
		return FDeadtime
	case FProtocol:
		return FProtocol
	case FSrc:
		return FSrc
	case FSrcUUID:
		return FSrcUUID
	case FSeq:
		return FSeq
	case FGeneration:
		return FGeneration
	case FTimestamp:
		return FTimestamp
	case FLoad:
		return FLoad
	case FTTL:
		return FTTL
	case FAuth:
		return FAuth
	case FDest:
		return FDest
	case FDestUUID:
		return FDestUUID
	case FAckSeq:
		return FAckSeq
	case FNodeList:
		return FNodeList
	case FDelNodeList:
		return FDelNodeList
	case FRscHold:
		return FRscHold
	case FRType:
		return FRType
	case FIsStable:
		return FIsStable
	case FInfo:
		return FInfo
	case FFirstSeq:
		return FFirstSeq
	case FLastSeq:
		return FLastSeq
	case FHbdHeld:
		return FHbdHeld
	case FHbdStarting:
		return FHbdStarting
	case FHbdStandby:
		return FHbdStandby
	case FHbdFailed:
		return FHbdFailed
	case FHbdWant:
		return FHbdWant
	case FHbdStopFailed:
		return FHbdStopFailed
	case FHbdStopping:
		return FHbdStopping
	case FHbdAsk:
		return FHbdAsk
	case FHbdEpoch:
		return FHbdEpoch
	case FHbdSeen:
		return FHbdSeen
	case FHbdSync:
		return FHbdSync
	case FHbdPing:
		return FHbdPing
	case FHbdDeadtime:
		return FHbdDeadtime
	case FHbdRoutine:
		return FHbdRoutine
	case FHbdSettings:
		return FHbdSettings
	case FHbdSetsPart:
		return FHbdSetsPart
	case FHbdQuiet:
		return FHbdQuiet
	case FHbdQuietMax:
		return FHbdQuietMax
	}
	return string(b)
}
