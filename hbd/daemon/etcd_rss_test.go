//go:build !noetcd

package daemon

import (
	"os"
	"runtime/debug"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/internal/etcdtest"
)

// TestEtcdPageReleaseAfterOperations: with the etcd backend, file pages
// read while a group runs leave the resident size once a group operation
// (here the stop of a disabled group) has ended. Nothing else may drop
// them meanwhile: no collection (turned off), no settle (initdead plus
// deadtime: 90 s), and the checks on the loop's ticks need two of them,
// dropEvery apart, to drop anything, so the drop must come before
// dropEvery has passed since the start.
func TestEtcdPageReleaseAfterOperations(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := etcdtest.Start(t, nil)
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	n := newEtcdNode(t, c.Endpoints())
	n.write("ha.cf", n.hacf("/hbd-pages/", "deadtime 30", "initdead 60"), 0o644)
	n.write("haresources", "n1 rec::a\n", 0o644)
	start := time.Now()
	n.start()
	n.waitRunning("started", "a")

	mapped := mapFile(t, exe)
	grown := rssFileKB(t)
	if r := n.command("group", "disable", "rec::a"); !r.OK {
		t.Fatalf("group disable rec::a: %s", r.Error)
	}
	n.waitRunning("a stopped")
	ok := dropped(t, mapped, grown)
	if took := time.Since(start); took >= dropEvery {
		t.Fatalf("%s from the start to the stop's drop: a check could have dropped the pages too; want under %s", took.Round(time.Millisecond), dropEvery)
	}
	if !ok {
		t.Errorf("RssFile %d kB with a %d kB file read, %d kB after the group's stop: want half of the file's pages gone", grown, len(mapped)/1024, rssFileKB(t))
	}
}
