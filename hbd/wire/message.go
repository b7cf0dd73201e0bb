// Package wire encodes, decodes, signs and verifies Heartbeat messages.
//
// A message is an ordered list of typed fields. On the wire it is framed
// as Heartbeat 3.0.6 frames it ("###\n", one netstring per field,
// "%%%\n", a signed trailer), so captures of the real daemon are test
// vectors and a Heartbeat peer understands hbd.
package wire

// FieldType is the type tag of a field, as Heartbeat writes it in "(N)".
type FieldType int

// Field types Heartbeat defines. hbd emits String and Binary.
const (
	String FieldType = 0
	Binary FieldType = 1
	Struct FieldType = 2
	List   FieldType = 3
)

// Field is one name=value pair of a message.
type Field struct {
	Name  string
	Type  FieldType
	Value []byte
}

// Message is an ordered set of fields. Names are unique: Set replaces.
type Message struct {
	Fields []Field
}

// Get returns the value of a field and whether it is present.
func (m *Message) Get(name string) (string, bool) {
	for _, f := range m.Fields {
		if f.Name == name {
			return string(f.Value), true
		}
	}
	return "", false
}

// Value returns the value of a field, "" when absent.
func (m *Message) Value(name string) string {
	v, _ := m.Get(name)
	return v
}

// Bytes returns the raw value of a field (for binary fields).
func (m *Message) Bytes(name string) ([]byte, bool) {
	for _, f := range m.Fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return nil, false
}

// Set sets a string field, replacing an existing one in place or appending.
func (m *Message) Set(name, value string) {
	m.set(Field{Name: name, Type: String, Value: []byte(value)})
}

// SetBinary sets a binary field (e.g. srcuuid).
func (m *Message) SetBinary(name string, value []byte) {
	m.set(Field{Name: name, Type: Binary, Value: append([]byte(nil), value...)})
}

// fieldsCap is the room a message built field by field starts with: a
// status message has 11 fields, a resource announcement a few more, so
// one allocation holds them instead of the five of append's doublings.
const fieldsCap = 16

func (m *Message) set(f Field) {
	for i := range m.Fields {
		if m.Fields[i].Name == f.Name {
			m.Fields[i] = f
			return
		}
	}
	if m.Fields == nil {
		m.Fields = make([]Field, 0, fieldsCap)
	}
	m.Fields = append(m.Fields, f)
}

// Del removes a field if present.
func (m *Message) Del(name string) {
	for i := range m.Fields {
		if m.Fields[i].Name == name {
			m.Fields = append(m.Fields[:i], m.Fields[i+1:]...)
			return
		}
	}
}
