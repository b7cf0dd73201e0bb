//go:build !noetcd

package daemon

import (
	"os"
	"runtime"
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
	grown := residentMapped(t, mapped)
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

// residentMapped is the resident file size once the pages of mapped (read
// by mapFile) are all in it. The drop that follows the group's start runs
// on a goroutine of its own and may still be dropping when the test maps
// its file, taking some of those pages too: they are read again until at
// least three quarters of the file is resident, so that the stop's drop is
// judged against pages that were there.
func residentMapped(t *testing.T, mapped []byte) int {
	t.Helper()
	page := os.Getpagesize()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var sum byte
		for i := 0; i < len(mapped); i += page {
			sum += mapped[i]
		}
		runtime.KeepAlive(sum)
		kb := rssFileKB(t)
		if kb >= len(mapped)/1024*3/4 || time.Now().After(deadline) {
			return kb
		}
	}
}
