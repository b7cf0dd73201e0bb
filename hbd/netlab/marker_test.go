//go:build linux

package netlab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// TestMarkerNeverSeenEmpty: a lab's marker is written whole or not at all,
// so a sweeper that reads it while the lab starts (labs start at once in
// parallel tests) never takes a live lab for a dead one, and never removes
// its marker and scratch directories (after which its namespaces, found
// without a marker, would be killed by the next sweep).
func TestMarkerNeverSeenEmpty(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Skip(t, "needs root (writes %s)", markerDir)
	}
	const n = 300
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%sm%03d", Prefix, i)[:len(Prefix)+4]
	}
	t.Cleanup(func() {
		for _, id := range ids {
			_ = os.Remove(filepath.Join(markerDir, id))
		}
	})
	// Readers spin on the marker being written, as a sweeper started at
	// that moment reads it: a marker that exists must name a live lab.
	var next atomic.Int64
	var empty atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for i := next.Load(); i < n; i = next.Load() {
				b, err := os.ReadFile(filepath.Join(markerDir, ids[i]))
				if err == nil && !labAlive(ids[i]) {
					empty.Add(1)
				} else if err == nil && len(b) == 0 {
					empty.Add(1)
				}
			}
		})
	}
	for i, id := range ids {
		err := writeMarker(id, t.Name())
		for range 20 { // readers also after the write, on the whole marker
			_, _ = os.Stat(filepath.Join(markerDir, id))
		}
		next.Store(int64(i + 1))
		if err != nil {
			next.Store(n)
			wg.Wait()
			t.Fatal(err)
		}
	}
	wg.Wait()
	if k := empty.Load(); k > 0 {
		t.Errorf("a live lab's marker was read empty or as a dead lab's %d times while %d labs wrote theirs", k, n)
	}
	es, err := os.ReadDir(markerDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("%s left in %s", e.Name(), markerDir)
		}
	}
}
