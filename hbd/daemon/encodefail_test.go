package daemon

import (
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/wire"
)

// TestEncodeFailedRateLimited: a message too long for a datagram is not
// sent; the first is logged at once, the next within a minute are only
// counted, and the first after a minute is logged with that count.
func TestEncodeFailedRateLimited(t *testing.T) {
	d, links, logs := newTestDaemon(t, loopConfig("node1", "node2"), &fakeRunner{})
	m := &wire.Message{}
	m.Set(wire.FType, wire.TResource)
	m.Set(wire.FHbdHeld, strings.Repeat("k", wire.MaxDatagram))
	lines := func() int { return strings.Count(logs.String(), "cannot encode resource message, not sent") }
	for range 3 {
		d.execute(&cluster.Send{Msg: m})
	}
	if n := lines(); n != 1 {
		t.Errorf("%d lines after 3 messages, want 1:\n%s", n, logs.String())
	}
	d.encodeFails.logged = time.Now().Add(-encodeLogEvery)
	d.execute(&cluster.Send{Msg: m})
	if n := lines(); n != 2 || !strings.Contains(logs.String(), "(and 2 other message(s) not sent since the last such line)") {
		t.Errorf("%d lines a minute later, want 2 with the count:\n%s", n, logs.String())
	}
	links.mu.Lock()
	defer links.mu.Unlock()
	if len(links.sent) != 0 {
		t.Errorf("%d messages sent", len(links.sent))
	}
}
