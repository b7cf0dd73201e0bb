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
	// store holds the values the setters copied, one after the other
	// (after DecodeInto: the stretch of the datagram that holds the
	// values); Reset and Copy keep it for the next message, so a message
	// built again and again in the same Message allocates nothing once
	// its store is large enough.
	store []byte
}

// storeCap is the room a message's store starts with: the values of a
// status message (about 100 bytes) or a resource announcement fit.
const storeCap = 256

// Reset empties m and keeps its storage for the fields set next: the
// values of the fields it had must no longer be used.
func (m *Message) Reset() {
	m.Fields = m.Fields[:0]
	m.store = m.store[:0]
}

// Copy makes m a copy of src (fields and values), in m's own storage,
// reused: nothing of src is shared, and a copy into a message whose
// storage is large enough allocates nothing.
func (m *Message) Copy(src *Message) {
	if m == src {
		return
	}
	size := 0
	for _, f := range src.Fields {
		size += len(f.Value)
	}
	// A message copied into again (a ring of sent messages) grows with
	// room to spare: messages of one kind differ by a few bytes (seq,
	// ld), and growing by exactly what each needs would allocate again
	// and again. A first copy (Clone) takes what it needs.
	if c := cap(m.store); c < size {
		m.store = make([]byte, 0, grown(c, size))
	}
	if c := cap(m.Fields); c < len(src.Fields) {
		m.Fields = make([]Field, 0, grown(c, len(src.Fields)))
	}
	m.Reset()
	for _, f := range src.Fields {
		m.Fields = append(m.Fields, Field{Name: f.Name, Type: f.Type, Value: keep(m, f.Value)})
	}
}

// grown is the capacity for need in place of one of had: need for a
// first one, half as much again otherwise.
func grown(had, need int) int {
	if had == 0 {
		return need
	}
	return need + need/2
}

// Clone returns a copy of m that shares nothing with it.
func (m *Message) Clone() *Message {
	c := &Message{}
	c.Copy(m)
	return c
}

// keep copies a value to the end of m's store and returns the copy
// (capacity clipped: appending to it cannot overwrite the next value).
// A store that grows leaves the values kept before in the old array,
// where they stay valid.
func keep[T ~string | ~[]byte](m *Message, v T) []byte {
	if m.store == nil {
		m.store = make([]byte, 0, max(storeCap, len(v)))
	}
	s := len(m.store)
	m.store = append(m.store, v...)
	return m.store[s:len(m.store):len(m.store)]
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

// Type returns the message's type (the t field): for the types of the T
// constants that very constant, so reading it allocates nothing; a copy
// of the value otherwise, "" when absent.
func (m *Message) Type() string {
	b, _ := m.Bytes(FType)
	switch string(b) {
	case TStatus:
		return TStatus
	case TAck:
		return TAck
	case TRexmit:
		return TRexmit
	case TNakRexmit:
		return TNakRexmit
	case TReqNodes:
		return TReqNodes
	case TRepNodes:
		return TRepNodes
	case TStarting:
		return TStarting
	case TResource:
		return TResource
	case TAskResources:
		return TAskResources
	case THBTakeover:
		return THBTakeover
	case TIPRequest:
		return TIPRequest
	case TIPRequestResp:
		return TIPRequestResp
	case TShutdone:
		return TShutdone
	case TStonith:
		return TStonith
	}
	return string(b)
}

// Bytes returns the raw value of a field (for binary fields), in place:
// it is m's, not a copy.
func (m *Message) Bytes(name string) ([]byte, bool) {
	for _, f := range m.Fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return nil, false
}

// Set sets a string field, replacing an existing one in place or
// appending. The value is copied into m's storage.
func (m *Message) Set(name, value string) {
	m.set(Field{Name: name, Type: String, Value: keep(m, value)})
}

// SetBytes is Set with the value given as bytes (copied).
func (m *Message) SetBytes(name string, value []byte) {
	m.set(Field{Name: name, Type: String, Value: keep(m, value)})
}

// SetBinary sets a binary field (e.g. srcuuid). The value is copied.
func (m *Message) SetBinary(name string, value []byte) {
	m.set(Field{Name: name, Type: Binary, Value: keep(m, value)})
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
