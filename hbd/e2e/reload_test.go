package e2e

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/link"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// TestReloadOnEdit edits a running node's configuration the way an
// operator does: a broken edit is refused with its file and line and the
// node keeps running on the old configuration; a valid key rotation done
// on both nodes is applied live (the editor's write-temp-and-rename
// included) and the nodes never lose each other.
func TestReloadOnEdit(t *testing.T) {
	nodes := newCluster(t, []string{"node1", "node2"}, fast, "")
	n1, n2 := nodes[0], nodes[1]
	n1.start()
	n2.start()
	waitFor(t, 10*time.Second, "both nodes active", func() bool {
		return n1.peerState("node2") == "active" && n2.peerState("node1") == "active"
	})

	// A typo in ha.cf: refused, with the line, and nothing changes.
	hacf := n1.path("ha.d/ha.cf")
	orig, err := os.ReadFile(hacf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hacf, append(append([]byte(nil), orig...), "keepalive fast\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the refused reload in the log", func() bool {
		return n1.countLines("Configuration reload (files changed) refused") == 1
	})
	if n := n1.countLines("ERROR: " + hacf + ":"); n == 0 {
		t.Errorf("the log does not name %s and the line", hacf)
	}
	if n1.peerState("node2") != "active" {
		t.Fatalf("node1 lost node2 after a refused reload")
	}
	if err := os.WriteFile(hacf, orig, 0o644); err != nil {
		t.Fatal(err)
	}

	// Key rotation, step 1 on both: accept key 2 too. Step 2 on both: sign
	// with key 2. Written as editors do: a temp file renamed over the file.
	rewrite := func(n *node, content string) {
		t.Helper()
		tmp := n.path("ha.d/.authkeys.swp")
		if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, n.path("ha.d/authkeys")); err != nil {
			t.Fatal(err)
		}
	}
	both := "1 sha1 e2e-secret-0123456789\n2 blake2b rotated-secret-0123456789\n"
	for _, n := range nodes {
		rewrite(n, "auth 1\n"+both)
	}
	for _, n := range nodes {
		waitFor(t, 5*time.Second, n.name+" to apply key 2", func() bool { return n.countLines("key 2 added (blake2b)") == 1 })
	}
	for _, n := range nodes {
		rewrite(n, "auth 2\n"+both)
	}
	for _, n := range nodes {
		waitFor(t, 5*time.Second, n.name+" to sign with key 2", func() bool { return n.countLines("signing key 1 -> 2") == 1 })
	}
	// Still together, nothing rejected, nobody declared dead.
	time.Sleep(2 * fast.Deadtime)
	for _, pair := range [][2]*node{{n1, n2}, {n2, n1}} {
		if s := pair[0].peerState(pair[1].name); s != "active" {
			t.Errorf("%s sees %s %s after the key rotation", pair[0].name, pair[1].name, s)
		}
		st, err := pair[0].status()
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Rejected) != 0 {
			t.Errorf("%s rejected packets during the rotation: %+v", pair[0].name, st.Rejected)
		}
		if line, _, ok := pair[0].logLine("is dead"); ok {
			t.Errorf("%s: %s", pair[0].name, line)
		}
	}
}

// TestReloadGroups changes haresources and timings under two running
// nodes: a new group is acquired by its preferred node, a removed group is
// released, an untouched group is not touched, and new timings take
// effect without anybody being declared dead.
func TestReloadGroups(t *testing.T) {
	rec := t.TempDir()
	nodes := newCluster(t, []string{"node1", "node2"}, fast, "node1 rec::web\n")
	for _, n := range nodes {
		n.write("ha.d/resource.d/rec", recScript(rec), 0o755)
		n.start()
	}
	running := func(node, res string) bool {
		_, err := os.Stat(rec + "/state." + node + "." + res)
		return err == nil
	}
	// The script touches its state file before it writes the record line.
	waitFor(t, 15*time.Second, "node1 to run web", func() bool {
		r := readRecord(t, rec)
		return running("node1", "web") && len(r) > 0 && r[len(r)-1].node == "node1" && r[len(r)-1].op == "start"
	})
	before := len(readRecord(t, rec))

	// Add a group preferred by node2, and slow the heartbeat down.
	for _, n := range nodes {
		n.write("ha.d/haresources", "node1 rec::web\nnode2 rec::db\n", 0o644)
		b, err := os.ReadFile(n.path("ha.d/ha.cf"))
		if err != nil {
			t.Fatal(err)
		}
		n.write("ha.d/ha.cf", strings.Replace(string(b), "keepalive 200ms", "keepalive 300ms", 1), 0o644)
	}
	waitFor(t, 15*time.Second, "node2 to run the new group", func() bool { return running("node2", "db") })

	// Remove the first group: node1 releases it; db is not touched.
	for _, n := range nodes {
		n.write("ha.d/haresources", "node2 rec::db\n", 0o644)
	}
	waitFor(t, 15*time.Second, "node1 to release web", func() bool { return !running("node1", "web") })
	if n := nodes[0].countLines("held: group(s) rec::web gone from haresources"); n != 1 {
		t.Errorf("node1 logged the hold of the removal %d times, want once", n)
	}
	time.Sleep(2 * fast.Deadtime)

	for _, e := range readRecord(t, rec)[before:] {
		if e.res == "db" && e.op == "stop" {
			t.Errorf("the untouched group db was stopped by %s", e.node)
		}
		if e.res == "web" && e.op == "start" {
			t.Errorf("web was started again by %s after the reloads", e.node)
		}
	}
	if running("node1", "web") || running("node2", "web") {
		t.Error("the removed group still runs")
	}
	for _, n := range nodes {
		if line, _, ok := n.logLine("is dead"); ok {
			t.Errorf("%s: %s", n.name, line)
		}
		if n.countLines("Configuration change (files changed): keepalive 200ms -> 300ms") != 1 {
			t.Errorf("%s did not log the keepalive change", n.name)
		}
	}
}

// TestSecondSIGTERM: a second SIGTERM while the resources are being
// released does not skip their stops; hbd still exits 0 once they ran.
func TestSecondSIGTERM(t *testing.T) {
	rec := t.TempDir()
	nodes := newCluster(t, []string{"node1", "node2"}, fast, "node1 slow::web\n")
	n1 := nodes[0]
	// A resource whose stop takes a second.
	slow := strings.Replace(recScript(rec), `stop) echo`, `stop) sleep 1; echo`, 1)
	n1.write("ha.d/resource.d/slow", slow, 0o755)
	n1.start()
	waitFor(t, 15*time.Second, "node1 to run web", func() bool {
		_, err := os.Stat(rec + "/state.node1.web")
		return err == nil
	})
	if err := n1.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := n1.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n1.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("hbd did not exit after two SIGTERMs")
	}
	if code := n1.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after a graceful stop, want 0", code)
	}
	n1.cmd = nil
	stopped := false
	for _, e := range readRecord(t, rec) {
		stopped = stopped || (e.node == "node1" && e.op == "stop")
	}
	if !stopped {
		t.Error("the second SIGTERM skipped the resource's stop")
	}
	if n1.countLines("Already stopping") != 1 {
		t.Error(`the log does not say the second SIGTERM was noted ("Already stopping")`)
	}
}

// TestAutoreloadOff: with `autoreload off` an edit is not applied by
// itself; SIGHUP applies it.
func TestAutoreloadOff(t *testing.T) {
	nodes := newCluster(t, []string{"node1"}, fast, "")
	n1 := nodes[0]
	hacf := n1.path("ha.d/ha.cf")
	orig, err := os.ReadFile(hacf)
	if err != nil {
		t.Fatal(err)
	}
	n1.write("ha.d/ha.cf", string(orig)+"autoreload off\n", 0o644)
	n1.start()
	waitFor(t, 10*time.Second, "node1 to say autoreload is off", func() bool {
		return n1.countLines("autoreload off: edits of") == 1
	})
	n1.write("ha.d/ha.cf", strings.Replace(string(orig), "keepalive 200ms", "keepalive 300ms", 1)+"autoreload off\n", 0o644)
	time.Sleep(3 * time.Second) // three quiet periods
	if n := n1.countLines("Configuration change"); n != 0 {
		t.Fatalf("an edit was applied with autoreload off (%d change lines)", n)
	}
	if err := n1.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "SIGHUP to apply the edit", func() bool {
		return n1.countLines("Configuration change (SIGHUP): keepalive 200ms -> 300ms") == 1
	})
}

// TestReloadMediaSteered: a reload of the media that keeps the link's
// address and port (a ucast line added) opens the new link beside the old
// one, where it cannot steer, and opens it again once the old one is
// closed: the link ends steered, and neither node declares the other dead
// meanwhile, at deadtime four keepalives.
func TestReloadMediaSteered(t *testing.T) {
	tm := Timing{Keepalive: 50 * time.Millisecond, Warntime: 150 * time.Millisecond, Deadtime: 200 * time.Millisecond, Initdead: 2 * time.Second}
	nodes := newCluster(t, []string{"node1", "node2"}, tm, "")
	n1, n2 := nodes[0], nodes[1]
	n1.start()
	n2.start()
	waitFor(t, 10*time.Second, "both nodes active", func() bool {
		return n1.peerState("node2") == "active" && n2.peerState("node1") == "active"
	})
	link := func() link.LinkStats {
		st, err := n1.status()
		if err != nil {
			t.Fatal(err)
		}
		return st.Links["lo"]
	}
	if !link().Steered {
		testenv.Skip(t, "the kernel does not steer node1's link")
	}
	hacf := n1.path("ha.d/ha.cf")
	orig, err := os.ReadFile(hacf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hacf, append(orig, "ucast lo 127.0.0.9 127.0.0.1\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the reload in node1's log", func() bool {
		return n1.countLines("Configuration reloaded from") == 1
	})
	if n1.countLines("opened again once the old ones closed: steered") != 1 {
		t.Errorf("node1 did not open the media again to steer them")
	}
	before := link()
	if !before.Steered {
		t.Fatalf("link %+v after the reload: not steered", before)
	}
	time.Sleep(2 * tm.Deadtime)
	if after := link(); after.RoutineRead <= before.RoutineRead {
		t.Errorf("no routine heartbeat read at wake-ups after the reload: %d, then %d", before.RoutineRead, after.RoutineRead)
	}
	for _, n := range nodes {
		if line, _, ok := n.logLine("is dead"); ok {
			t.Errorf("%s: %s", n.name, line)
		}
	}
}
