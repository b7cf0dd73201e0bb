package wire

import (
	"fmt"
	"strconv"
	"time"
)

// Field names Heartbeat 3.0.6 uses, as its packets in testdata/captures
// show them (docs/wire.md describes the format).
const (
	FType        = "t"           // message type, one of the T* constants
	FStatus      = "st"          // node status: init, up, active, dead
	FDeadtime    = "dt"          // sender's deadtime, milliseconds in hex (Millis)
	FProtocol    = "protocol"    // protocol version, "1"
	FSrc         = "src"         // sender node name
	FSrcUUID     = "srcuuid"     // sender UUID, 16 raw bytes (binary field)
	FSeq         = "seq"         // per-sender sequence number, hex (Hex)
	FGeneration  = "hg"          // heartbeat generation, hex (Hex)
	FTimestamp   = "ts"          // send time, epoch seconds in hex (UnixHex)
	FLoad        = "ld"          // sender's /proc/loadavg, verbatim
	FTTL         = "ttl"         // hops left, decimal (Decimal)
	FAuth        = "auth"        // "<keyidx> <hex digest>"; reserved, see Encode
	FDest        = "dest"        // addressee node name (a filter, not routing)
	FDestUUID    = "destuuid"    // addressee UUID, 16 raw bytes
	FAckSeq      = "ackseq"      // highest in-order seq of dest, hex (Hex)
	FNodeList    = "nodelist"    // space-separated nodes with a trailing space
	FDelNodeList = "delnodelist" // nodes to delete, same form
	FRscHold     = "rsc_hold"    // none, local, foreign, all
	FRType       = "rtype"       // full
	FIsStable    = "isstable"    // 0 or 1
	FInfo        = "info"        // reason of a resource message
	FFirstSeq    = "firstseq"    // first seq asked for again (NS_rexmit: decimal; NS_nak_rexmit: hex)
	FLastSeq     = "lastseq"     // last seq asked for again (NS_rexmit), decimal
)

// Fields hbd adds to resource and status messages (Heartbeat ignores
// them; hbd/cluster/doc.go, "Messages"). Lists are "|"-separated group
// keys.
const (
	FHbdHeld       = "hbd_held"       // groups the sender holds
	FHbdStarting   = "hbd_starting"   // of those, the ones whose start is under way (it may still be called off)
	FHbdStandby    = "hbd_standby"    // groups it stands by for
	FHbdFailed     = "hbd_failed"     // groups that failed there
	FHbdWant       = "hbd_want"       // KEY>NODE|...: its desired holder of every group
	FHbdStopFailed = "hbd_stopfailed" // groups whose stop failed there
	FHbdStopping   = "hbd_stopping"   // 1 while a graceful stop releases the groups
	FHbdAsk        = "hbd_ask"        // nodes asked to announce their groups again
	FHbdEpoch      = "hbd_epoch"      // the announcement's epoch, hex
	FHbdSeen       = "hbd_seen"       // NODE:EPOCH|...: the newest epoch seen of each peer
	FHbdSync       = "hbd_sync"       // 1: answer with an announcement that saw this one
	FHbdPing       = "hbd_ping"       // REACHED/TOTAL ping nodes (status)
	FHbdDeadtime   = "hbd_dt"         // ms: the deadtime the sender applies where dt says otherwise: a reload's longer old one, the plain one during the start bonus (status)
	FHbdRoutine    = "hbd_routine"    // 1: a routine message, first of its fields (AppendEncodeRoutine)
	FHbdSettings   = "hbd_settings"   // KIND:VALUE:VERSION:ORIGIN:NAME|...: cluster-wide operator settings
	FHbdSetsPart   = "hbd_setspart"   // 1: hbd_settings lists only part of the settings the sender holds
	FHbdQuiet      = "hbd_quiet"      // ms: the sender, holding nothing, sends its status this often (status)
	FHbdQuietMax   = "hbd_quietmax"   // ms: the longest hbd_quiet interval the sender honours (announcement)
)

// Message types (values of the "t" field) seen from Heartbeat 3.0.6.
const (
	TStatus        = "status"
	TAck           = "NS_ackmsg"
	TRexmit        = "NS_rexmit"
	TNakRexmit     = "NS_nak_rexmit"
	TReqNodes      = "reqnodes"
	TRepNodes      = "repnodes"
	TStarting      = "starting"
	TResource      = "resource"
	TAskResources  = "ask_resources"
	THBTakeover    = "hb_takeover"
	TIPRequest     = "ip-request"
	TIPRequestResp = "ip-request-resp"
	TShutdone      = "shutdone"
	TStonith       = "stonith"
)

// UUIDLen is the length of the binary srcuuid / destuuid values.
const UUIDLen = 16

// Hex renders v as Heartbeat writes seq, hg, ackseq: lowercase hex, no
// leading zeros, no prefix ("1a").
func Hex(v uint64) string { return strconv.FormatUint(v, 16) }

// ParseHex parses a hex field value: 1 to 16 hex digits of either case
// (leading zeros allowed), nothing else.
func ParseHex(s string) (uint64, error) { return parseHex(s) }

// parseHex is ParseHex of a value as a string or in place, as bytes.
func parseHex[T ~string | ~[]byte](s T) (uint64, error) {
	if len(s) == 0 || len(s) > 16 {
		return 0, fmt.Errorf("wire: hex value %q: want 1 to 16 hex digits", s)
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, fmt.Errorf("wire: hex value %q: bad digit %q", s, c)
		}
		v = v<<4 | uint64(d)
	}
	return v, nil
}

// Decimal renders a small count such as ttl in decimal.
func Decimal(v int) string { return strconv.Itoa(v) }

// Millis renders a duration as Heartbeat's dt field: whole milliseconds in
// hex (5s -> "1388"). Negative durations render as "0".
func Millis(d time.Duration) string { return Hex(uint64(max(d, 0) / time.Millisecond)) }

// SetMillis sets a string field to Millis(d), formatted into m's storage.
func (m *Message) SetMillis(name string, d time.Duration) {
	m.SetHex(name, uint64(max(d, 0)/time.Millisecond))
}

// ParseMillis parses a dt value (milliseconds in hex).
func ParseMillis(s string) (time.Duration, error) { return parseMillis(s) }

// MillisValue is ParseMillis of a field's value, read in place (nothing
// is allocated unless it fails); an absent field is an error.
func (m *Message) MillisValue(name string) (time.Duration, error) {
	b, ok := m.Bytes(name)
	if !ok {
		return 0, fmt.Errorf("wire: no %s field", name)
	}
	return parseMillis(b)
}

func parseMillis[T ~string | ~[]byte](s T) (time.Duration, error) {
	v, err := parseHex(s)
	if err != nil {
		return 0, err
	}
	if v > uint64(1<<63-1)/uint64(time.Millisecond) {
		return 0, fmt.Errorf("wire: duration %q ms overflows", s)
	}
	return time.Duration(v) * time.Millisecond, nil
}

// UnixHex renders t as Heartbeat's ts field: epoch seconds in hex.
// Times before 1970 render as "0".
func UnixHex(t time.Time) string {
	s := t.Unix()
	if s < 0 {
		s = 0
	}
	return Hex(uint64(s))
}

// ParseUnixHex parses a ts value (epoch seconds in hex).
func ParseUnixHex(s string) (time.Time, error) {
	v, err := ParseHex(s)
	if err != nil {
		return time.Time{}, err
	}
	if v > 1<<62 {
		return time.Time{}, fmt.Errorf("wire: time %q out of range", s)
	}
	return time.Unix(int64(v), 0), nil
}

// SetHex sets a string field to Hex(v), formatted into m's storage.
func (m *Message) SetHex(name string, v uint64) {
	var b [16]byte
	m.SetBytes(name, strconv.AppendUint(b[:0], v, 16))
}

// SetDecimal sets a string field to v in decimal (as Decimal renders
// it), formatted into m's storage.
func (m *Message) SetDecimal(name string, v int) {
	var b [20]byte
	m.SetBytes(name, strconv.AppendInt(b[:0], int64(v), 10))
}

// HexValue returns a hex field's value; an absent field is an error.
// It reads the value in place: nothing is allocated unless it fails.
func (m *Message) HexValue(name string) (uint64, error) {
	b, ok := m.Bytes(name)
	if !ok {
		return 0, fmt.Errorf("wire: no %s field", name)
	}
	v, err := parseHex(b)
	if err != nil {
		return 0, fmt.Errorf("field %s: %w", name, err)
	}
	return v, nil
}

// SetUUID sets a binary UUID field (srcuuid, destuuid).
func (m *Message) SetUUID(name string, u [UUIDLen]byte) { m.SetBinary(name, u[:]) }

// UUID returns a binary UUID field; it must be present, binary and exactly
// UUIDLen bytes.
func (m *Message) UUID(name string) ([UUIDLen]byte, error) {
	var u [UUIDLen]byte
	for _, f := range m.Fields {
		if f.Name != name {
			continue
		}
		if f.Type != Binary || len(f.Value) != UUIDLen {
			return u, fmt.Errorf("wire: field %s is not a %d-byte binary value", name, UUIDLen)
		}
		copy(u[:], f.Value)
		return u, nil
	}
	return u, fmt.Errorf("wire: no %s field", name)
}
