package daemon

import "time"

// encodeLogEvery is the least time between two log lines about messages
// that could not be encoded.
const encodeLogEvery = time.Minute

// encodeFails counts the messages of the core the daemon could not encode
// (so did not send), for a log line at most every encodeLogEvery.
type encodeFails struct {
	logged time.Time // the last line
	since  int       // messages not sent since then
}

// encodeFailed says that a message of type typ could not be encoded and
// was not sent: the first at once, then at most one line per
// encodeLogEvery, which counts those it did not write. The core does not
// hand out an announcement too long for a datagram (it measures what it
// sends): a message that fails here is one it did not expect to fail.
func (d *Daemon) encodeFailed(typ string, err error) {
	f := &d.encodeFails
	now := time.Now()
	if !f.logged.IsZero() && now.Sub(f.logged) < encodeLogEvery {
		f.since++
		return
	}
	if f.since > 0 {
		d.log.Errorf("cannot encode %s message, not sent: %v (and %d other message(s) not sent since the last such line)", typ, err, f.since)
	} else {
		d.log.Errorf("cannot encode %s message, not sent: %v", typ, err)
	}
	*f = encodeFails{logged: now}
}
