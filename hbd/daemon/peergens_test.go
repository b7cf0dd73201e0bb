package daemon

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/ctl"
)

func TestPeerGenerationsFile(t *testing.T) {
	dir := t.TempDir()
	if got, err := LoadPeerGenerations(dir); err != nil || got != nil {
		t.Fatalf("LoadPeerGenerations of an empty dir = %v, %v; want none", got, err)
	}
	want := map[string]uint64{"node2": 1795318590, "node3": 12}
	if err := savePeerGenerations(dir, want); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, peerGenerationsFile))
	if string(b) != "node2 1795318590\nnode3 12\n" {
		t.Errorf("file %q, want one sorted line a peer", b)
	}
	if got, err := LoadPeerGenerations(dir); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("LoadPeerGenerations after save = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"node2\n", "node2 x\n", "node2 1 2\n"} {
		if err := os.WriteFile(filepath.Join(dir, peerGenerationsFile), []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadPeerGenerations(dir); err == nil || !strings.Contains(err.Error(), "fix or remove the file") {
			t.Errorf("LoadPeerGenerations of %q: %v; want an error naming the file", bad, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, peerGenerationsFile), []byte("\n \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadPeerGenerations(dir); err != nil || len(got) != 0 {
		t.Errorf("a blank file = %v, %v; want none kept", got, err)
	}
}

// peerStatus is what `hbd status` says of node2.
func (r *loopRig) peerStatus() cluster.PeerStatus {
	r.t.Helper()
	resp := r.call(ctl.Request{Cmd: "status"})
	var st ctl.Status
	if err := json.Unmarshal(resp.Data, &st); err != nil || !resp.OK {
		r.t.Fatalf("status: %+v %v", resp, err)
	}
	return st.Cluster.Peers[0]
}

// TestReplayOfOldGenerationAfterRestart: a packet captured from node2's
// previous run is refused by a restarted node1, which has never heard
// node2 in its own run, because node1 kept node2's newest generation in
// its state directory.
func TestReplayOfOldGenerationAfterRestart(t *testing.T) {
	dir := t.TempDir()
	first := newLoopRigIn(t, loopConfig("node1", "node2"), &fakeRunner{}, dir)
	first.gen2 = 5
	captured := first.signed(0, "t", "hb_takeover", "rsc_hold", "all")
	first.fromPeer("eth0", 0, "t", "status", "st", "active", "dt", "7d0", "protocol", "1")
	first.deliver("eth0", captured)
	waitFor(t, func() bool { return first.peerStatus().Generation == 5 })
	first.gen2, first.seq2 = 6, 0 // node2 restarts
	first.fromPeer("eth0", 0, "t", "status", "st", "active", "dt", "7d0", "protocol", "1")
	waitFor(t, func() bool { return first.peerStatus().Generation == 6 })
	first.sigs <- syscall.SIGTERM
	<-first.done
	if got, err := LoadPeerGenerations(dir); err != nil || got["node2"] != 6 {
		t.Fatalf("kept %v, %v; want node2 6", got, err)
	}

	// node1 restarts with the same state directory; the captured packet
	// (generation 5, a valid signature) comes first.
	second := newLoopRigIn(t, loopConfig("node1", "node2"), &fakeRunner{}, dir)
	second.deliver("eth0", captured)
	waitFor(t, func() bool { return second.peerStatus().Dropped["stale-generation"] == 1 })
	if p := second.peerStatus(); p.State != cluster.StateUnknown {
		t.Errorf("after the replay node2 is %s, want never heard", p.State)
	}
	second.gen2 = 6
	second.fromPeer("eth0", 0, "t", "status", "st", "active", "dt", "7d0", "protocol", "1")
	waitFor(t, func() bool { return second.peerStatus().State == "active" })
	if got := second.runner.count("hook hb_takeover"); got != 0 {
		t.Errorf("the replayed hb_takeover ran its hook %d times", got)
	}
}
