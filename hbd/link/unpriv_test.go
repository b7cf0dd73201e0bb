package link

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// TestUnprivileged checks that links work without privileges, as `make
// demo` runs them. Linux before 5.7 refuses SO_BINDTODEVICE to non-root
// processes: the sockets then work unbound to the device and the log says
// so once, at debug level. Later kernels let an unprivileged socket bind to
// a device once, and there is nothing to note. As root, the test runs
// itself again as nobody (setpriv, no capabilities).
func TestUnprivileged(t *testing.T) {
	if os.Geteuid() == 0 {
		reexecAsNobody(t, "TestUnprivileged")
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

// reexecAsNobody runs this test binary's test named name as user nobody
// without capabilities, and fails if it fails.
func reexecAsNobody(t *testing.T, name string) {
	t.Helper()
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("skipping: running as root and setpriv (util-linux) is not installed to drop privileges")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The go build directory is root-only: copy the binary where nobody can
	// run it.
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "link.test")
	copyFile(t, self, bin)
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
		bin, "-test.run=^"+name+"$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("as nobody: the test did not run:\n%s", out)
	}
	t.Logf("as nobody:\n%s", out)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
