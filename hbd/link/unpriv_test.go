package link

import (
	"os"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// TestUnprivileged checks that links work without privileges, as `make
// demo` runs them. Linux before 5.7 refuses SO_BINDTODEVICE to non-root
// processes: the sockets then work unbound to the device and the log says
// so once, at debug level. Later kernels let an unprivileged socket bind to
// a device once, and there is nothing to note. As root, the test runs
// itself again as nobody (no capabilities).
func TestUnprivileged(t *testing.T) {
	if os.Geteuid() == 0 {
		out, err := testenv.RunAs(t, testenv.Nobody, testenv.Nobody)
		if err != nil {
			t.Fatalf("as nobody: %v\n%s", err, out)
		}
		t.Logf("as nobody:\n%s", out)
		return
	}
	port := freePort(t)
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	ch1, ch2 := make(chan Packet, 4), make(chan Packet, 4)
	n1, n2 := twoNodes(t, port, Options{Packets: ch1, Log: log}, Options{Packets: ch2})
	n1.Send([]byte("unprivileged"))
	expectPacket(t, ch2, []byte("unprivileged"), "lo", ap("127.0.0.1", port))
	n2.Send([]byte("back"))
	expectPacket(t, ch1, []byte("back"), "lo", ap("127.0.0.2", port))

	var notes []*logrus.Entry
	for _, e := range hook.AllEntries() {
		if strings.Contains(e.Message, "SO_BINDTODEVICE") {
			notes = append(notes, e)
		}
	}
	switch {
	case len(notes) == 0:
		t.Logf("uid %d: this kernel lets unprivileged sockets bind to a device", os.Geteuid())
	case len(notes) == 1 && notes[0].Level == logrus.DebugLevel:
		t.Logf("uid %d: %s", os.Geteuid(), notes[0].Message)
	default:
		t.Fatalf("want at most one debug note about SO_BINDTODEVICE, got %d: %v", len(notes), notes)
	}
}
