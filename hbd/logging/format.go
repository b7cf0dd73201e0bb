package logging

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// Field names the formatter treats specially. An entry carrying TagKey is
// written as coming from that program (a resource script, harc) instead of
// the daemon, with the pid in TagPIDKey; neither is repeated as key=value.
// WithTag sets both.
const (
	TagKey    = "tag"
	TagPIDKey = "tag_pid"
)

// TimeLayout is Heartbeat's timestamp: 2012/11/21_15:12:44 (local time).
const TimeLayout = "2006/01/02_15:04:05"

// TimeLayoutMillis is TimeLayout with milliseconds,
// 2012/11/21_15:12:44.017: the debug file's times with
// Outputs.DebugMillis.
const TimeLayoutMillis = TimeLayout + ".000"

// LevelWord is the word Heartbeat prints for a level: debug, info, WARN,
// ERROR, CRIT. logrus has no critical level: CRIT is logrus.FatalLevel
// (logged without exiting by Crit) and PanicLevel; TraceLevel prints as
// debug.
func LevelWord(l logrus.Level) string {
	switch l {
	case logrus.TraceLevel, logrus.DebugLevel:
		return "debug"
	case logrus.InfoLevel:
		return "info"
	case logrus.WarnLevel:
		return "WARN"
	case logrus.ErrorLevel:
		return "ERROR"
	default: // FatalLevel, PanicLevel
		return "CRIT"
	}
}

// Formatter writes an entry as Heartbeat does:
//
//	heartbeat[1234]: 2012/11/21_15:12:44 info: message key=value
//
// Program and PID name the daemon; an entry with a TagKey field is written
// under that tag and the TagPIDKey pid instead.
type Formatter struct {
	Program string
	PID     int
}

// Format implements logrus.Formatter. It appends to the entry's pooled
// Buffer when logrus provides one.
func (f *Formatter) Format(e *logrus.Entry) ([]byte, error) {
	if e.Buffer != nil {
		line := f.appendLine(e.Buffer.AvailableBuffer(), e)
		e.Buffer.Write(line)
		return e.Buffer.Bytes(), nil
	}
	return f.appendLine(nil, e), nil
}

// appendLine appends the full line, newline included, to b.
func (f *Formatter) appendLine(b []byte, e *logrus.Entry) []byte {
	var ln line
	f.record(&ln, b, e, false)
	return ln.text
}

// record formats e into b as appendLine does, into ln with what its
// syslog text needs (line.syslogText). With ms the time carries
// milliseconds (TimeLayoutMillis).
func (f *Formatter) record(ln *line, b []byte, e *logrus.Entry, ms bool) {
	b = appendPrefix(b, e, f.Program, f.PID)
	ln.level, ln.prefix, ln.tagged, ln.msAt = e.Level, len(b), isTagged(e.Data), 0
	b = append(b, ' ')
	b = e.Time.AppendFormat(b, TimeLayout)
	if ms {
		ln.msAt = len(b)
		b = appendMillis(b, e.Time)
	}
	b = append(b, ' ')
	ln.body = len(b)
	b = appendBody(b, e)
	ln.text = append(b, '\n')
}

// appendMillis appends ".mmm", the milliseconds of t.
func appendMillis(b []byte, t time.Time) []byte {
	ms := t.Nanosecond() / int(time.Millisecond)
	return append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
}

// syslogText is SyslogLine of the line's entry: the body, after the
// prefix and a space for a tagged entry.
func (ln *line) syslogText() string {
	body := ln.text[ln.body : len(ln.text)-1]
	if !ln.tagged {
		return string(body)
	}
	return string(ln.text[:ln.prefix]) + " " + string(body)
}

// appendPrefix appends "program[pid]:" for the daemon or for the entry's tag.
func appendPrefix(b []byte, e *logrus.Entry, program string, pid int) []byte {
	if isTagged(e.Data) {
		program = e.Data[TagKey].(string)
		switch p := e.Data[TagPIDKey].(type) {
		case int:
			pid = p
		case int32:
			pid = int(p)
		case int64:
			pid = int(p)
		}
	}
	b = appendEscaped(b, program)
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(pid), 10)
	return append(b, "]:"...)
}

// appendBody appends "LEVEL: message key=value..." (no newline): the part
// of a line that syslog gets, since syslog adds its own time and tag. The
// message is escaped (see Escape): one entry is one line, whatever a peer
// or a script put into it.
func appendBody(b []byte, e *logrus.Entry) []byte {
	b = append(b, LevelWord(e.Level)...)
	b = append(b, ": "...)
	b = appendEscaped(b, strings.TrimRight(e.Message, "\n"))
	return appendFields(b, e.Data)
}

// SyslogLine is what the syslog hook sends for an entry: "LEVEL: message"
// plus fields, prefixed by "tag[pid]: " for a tagged entry (the syslog tag
// itself is always the program's). No timestamp: syslog adds its own.
func SyslogLine(e *logrus.Entry) string {
	var b []byte
	if isTagged(e.Data) {
		b = appendPrefix(b, e, "", 0)
		b = append(b, ' ')
	}
	return string(appendBody(b, e))
}

var keyPool = sync.Pool{New: func() any { s := make([]string, 0, 8); return &s }}

// isTagged reports whether an entry is written under its own tag.
func isTagged(data logrus.Fields) bool {
	tag, ok := data[TagKey].(string)
	return ok && tag != ""
}

// appendFields appends " key=value" for every field, in key order so lines
// are reproducible; TagKey and TagPIDKey are left out when the entry is
// tagged (they are in the prefix).
func appendFields(b []byte, data logrus.Fields) []byte {
	n := len(data)
	tagged := isTagged(data)
	if tagged {
		n--
		if _, ok := data[TagPIDKey]; ok {
			n--
		}
	}
	if n <= 0 {
		return b
	}
	kp := keyPool.Get().(*[]string)
	keys := (*kp)[:0]
	for k := range data {
		if !tagged || k != TagKey && k != TagPIDKey {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = append(b, ' ')
		b = append(b, k...)
		b = append(b, '=')
		b = appendValue(b, data[k])
	}
	*kp = keys[:0]
	keyPool.Put(kp)
	return b
}

// appendValue writes a field value; strings that would make the line
// ambiguous (empty, spaces, quotes, '=', control characters) are quoted.
func appendValue(b []byte, v any) []byte {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case bool:
		return strconv.AppendBool(b, x)
	case time.Duration:
		s = x.String()
	case error:
		s = x.Error()
	case fmt.Stringer:
		s = x.String()
	default:
		s = fmt.Sprint(x)
	}
	if needsQuote(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r <= ' ' || r == '"' || r == '=' || r == 0x7f {
			return true
		}
	}
	return false
}
