package wire

import (
	"bytes"
	"encoding/base64"
	"fmt"
)

// Heartbeat's classic text format: ">>>\n", one "name=value\n" line per
// field ("(1)name=<std base64>\n" for binary fields), "<<<\n". Heartbeat's
// FIFO and command-line tools speak it; on the network hbd always uses the
// netstring format, and the auth signature covers the classic lines of a
// message without the two framing lines.

const (
	classicStart = ">>>\n"
	classicEnd   = "<<<\n"
)

// AppendClassic appends m in classic text format. It fails for a field
// the format cannot carry: an invalid name, a string value containing a
// newline, or a type other than String or Binary. No signature is added.
func (m *Message) AppendClassic(dst []byte) ([]byte, error) {
	for _, f := range m.Fields {
		if !validName(f.Name) {
			return dst, fmt.Errorf("wire: invalid field name %q", f.Name)
		}
		switch {
		case f.Type == String && bytes.IndexByte(f.Value, '\n') >= 0:
			return dst, fmt.Errorf("wire: field %q: a newline cannot be written in classic format", f.Name)
		case f.Type != String && f.Type != Binary:
			return dst, fmt.Errorf("wire: field %q has unsupported type %d", f.Name, f.Type)
		}
	}
	dst = append(dst, classicStart...)
	for _, f := range m.Fields {
		dst = appendClassicLine(dst, f.Type, f.Name, f.Value)
	}
	return append(dst, classicEnd...), nil
}

// ParseClassic parses one classic-format message from the start of b and
// returns it with the bytes that follow it (the next message of a stream).
// Lines are "name=value" or "(1)name=<base64>"; an auth line is kept as an
// ordinary field and not verified. Errors are *DecodeError values: a
// message not closed by "<<<" within b is DropTruncated, one longer than
// MaxDatagram DropOversized.
func ParseClassic(b []byte) (*Message, []byte, error) {
	ps := parser{b: b}
	if err := ps.literal(classicStart); err != nil {
		if len(b) == 0 {
			return nil, nil, dropErr(DropTruncated, 0, "empty input")
		}
		return nil, nil, err
	}
	m := &Message{}
	for {
		if ps.p > MaxDatagram {
			return nil, nil, dropErr(DropOversized, ps.p, "classic message longer than %d bytes", MaxDatagram)
		}
		nl := bytes.IndexByte(b[ps.p:], '\n')
		if nl < 0 {
			return nil, nil, dropErr(DropTruncated, len(b), "input ends before %q", classicEnd)
		}
		off, line := ps.p, b[ps.p:ps.p+nl]
		ps.p += nl + 1
		if string(line) == classicEnd[:3] {
			return m, b[ps.p:], nil
		}
		f, err := parseClassicLine(line, off)
		if err != nil {
			return nil, nil, err
		}
		if _, dup := m.Get(f.Name); dup {
			return nil, nil, dropErr(DropMalformed, off, "field %q given twice", f.Name)
		}
		if len(m.Fields) == MaxFields {
			return nil, nil, dropErr(DropMalformed, off, "more than %d fields", MaxFields)
		}
		m.Fields = append(m.Fields, f)
	}
}

func parseClassicLine(line []byte, off int) (Field, *DecodeError) {
	t := String
	if len(line) > 0 && line[0] == '(' {
		end := bytes.IndexByte(line, ')')
		switch tag := string(line[1:max(end, 1)]); {
		case end < 0:
			return Field{}, dropErr(DropMalformed, off, "type tag not closed")
		case tag == "0":
		case tag == "1":
			t = Binary
		case len(tag) > 0 && len(tag) <= 3 && tag[0] >= '1' && tag[0] <= '9' && isDigits(tag):
			return Field{}, dropErr(DropUnsupported, off, "field type %s; only string (0) and binary (1) are supported", tag)
		default:
			return Field{}, dropErr(DropMalformed, off, "bad field type tag")
		}
		line = line[end+1:]
	}
	eq := bytes.IndexByte(line, '=')
	if eq < 0 {
		return Field{}, dropErr(DropMalformed, off, "line has no '='")
	}
	if !validName(line[:eq]) {
		return Field{}, dropErr(DropMalformed, off, "invalid field name %q", clip(line[:eq]))
	}
	f := Field{Name: internName(line[:eq]), Type: t}
	v := line[eq+1:]
	if t == Binary {
		dec := make([]byte, base64.StdEncoding.DecodedLen(len(v)))
		n, err := base64.StdEncoding.Decode(dec, v)
		if err != nil {
			return Field{}, dropErr(DropMalformed, off, "field %q: bad base64: %v", f.Name, err)
		}
		f.Value = dec[:n]
	} else {
		f.Value = append([]byte(nil), v...)
	}
	return f, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
