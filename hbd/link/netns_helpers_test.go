//go:build linux

package link

import (
	"context"
	"testing"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/netlab"
)

// The namespace tests run on an hbd/netlab lab: hosts (network
// namespaces) whose interfaces sit on the lab's bridges.

// labHost adds host name to lab with eth0 carrying addrs and fails the
// test when it cannot.
func labHost(t *testing.T, lab *netlab.Lab, name string, addrs ...string) *netlab.Host {
	t.Helper()
	h, err := lab.Host(name, addrs...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// waitReady waits until the hosts' interfaces pass packets: these tests
// send single datagrams, which a link that is not ready yet would drop.
func waitReady(t *testing.T, hosts ...*netlab.Host) {
	t.Helper()
	for _, h := range hosts {
		if err := h.WaitReady(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// ipIn runs `ip ARGS...` inside host h and fails the test on error.
func ipIn(t *testing.T, h *netlab.Host, args ...string) {
	t.Helper()
	if _, err := h.Exec(context.Background(), "ip", args...); err != nil {
		t.Fatal(err)
	}
}

// openIn opens a Set inside host h and closes it when the test ends.
func openIn(t *testing.T, h *netlab.Host, media []config.Medium, opts Options) *Set {
	t.Helper()
	var s *Set
	err := h.Do(func() error {
		var err error
		s, err = Open(context.Background(), media, opts)
		return err
	})
	if err != nil {
		t.Fatalf("Open in %s: %v", h.Name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
