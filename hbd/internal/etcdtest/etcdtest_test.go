package etcdtest

import (
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// TestStopNeverReady: a member that never becomes ready (alone of its
// three, no quorum) stops, as a cluster whose start timed out on a
// loaded machine must before New tries again or gives up.
func TestStopNeverReady(t *testing.T) {
	c := &Cluster{dir: filepath.Join(t.TempDir(), "alone"), members: make([]*embed.Etcd, 3)}
	for range 3 {
		cp, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		pp, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		c.cports, c.pports = append(c.cports, cp), append(c.pports, pp)
	}
	e, err := embed.StartEtcd(c.config(0, "new"))
	if err != nil {
		t.Fatal(err)
	}
	c.members[0] = e
	select {
	case <-e.Server.ReadyNotify():
		t.Fatal("one member of three ready")
	case <-time.After(time.Second): // two elections of 500 ms
	}
	stopped := make(chan struct{})
	go func() {
		c.StopAll()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("a member that never became ready did not stop in 30 s")
	}
}
