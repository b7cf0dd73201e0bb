package logging

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// line is one formatted line, with the offsets of its parts: the text
// is "prefix time body\n", the prefix being "tag[pid]:". One line is
// handed to every output it is due to; the last one done with it gives
// it back to the pool.
type line struct {
	text         []byte
	level        logrus.Level
	prefix, body int  // end of the prefix, start of the body
	msAt         int  // where the time's ".mmm" starts; 0: the time has none
	tagged       bool // written under its entry's own tag

	// own marks the logger's own lines (drop reports, notices): one
	// dropped is not counted, and never reported, so that they cannot
	// feed on each other.
	own bool
	// reports is, for a report of lines dropped (putReport,
	// reportDrops), how many it counts, and since when the first of
	// them was; 0 for any other line.
	reports int
	since   time.Time

	refs     atomic.Int32 // outputs not yet done with the line
	fellBack atomic.Bool  // handed to stderr after an output failed
}

var linePool = sync.Pool{New: func() any { return &line{text: make([]byte, 0, 256)} }}

// newLine takes a line from the pool, for refs outputs.
func newLine(refs int32) *line {
	ln := linePool.Get().(*line)
	ln.refs.Store(refs)
	ln.fellBack.Store(false)
	ln.own = false
	ln.reports = 0
	return ln
}

// release is called by each output done with the line (written or
// dropped); the last one gives it back to the pool.
func (ln *line) release() {
	if ln.refs.Add(-1) != 0 {
		return
	}
	if cap(ln.text) <= 64<<10 {
		ln.text = ln.text[:0]
		linePool.Put(ln)
	}
}

// textFor is the line as an output writes it: with its milliseconds when
// the output wants them (ms) or without, cut into scratch when the line
// has them and the output does not.
func (ln *line) textFor(ms bool, scratch *[]byte) []byte {
	if ln.msAt == 0 || ms {
		return ln.text
	}
	b := append((*scratch)[:0], ln.text[:ln.msAt]...)
	b = append(b, ln.text[ln.msAt+len(".000"):]...)
	*scratch = b
	return b
}
