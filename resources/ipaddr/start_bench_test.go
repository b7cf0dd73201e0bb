//go:build linux

package ipaddr

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
	"github.com/hbdproject/hbd/resources/agents"
)

// BenchmarkRunStart times what a daemon's takeover runs for a built-in
// address, in a namespace: the in-process start (address added, first
// round of announcements out), with the address removed again between
// iterations. It reports the median and the slowest start beside the
// mean (ns/op), as the takeover path's figure in docs/benchmarks-history.md
// ("The start without its status check").
//
//	flock /tmp/hbd-netns.lock go test ./resources/ipaddr -run '^$' -bench RunStart -benchtime 200x
func BenchmarkRunStart(b *testing.B) {
	netlab.Skip(b)
	lab := netlab.NewT(b, b.Name())
	h := addHost(b, lab, "a", "10.231.0.1/24")
	if err := h.WaitReady(context.Background()); err != nil {
		b.Fatal(err)
	}
	o := agents.RunOptions{StateDir: filepath.Join(b.TempDir(), "rsctmp")}
	args := []string{vip4 + "/24/eth0"}
	run := func(op string) int {
		return Run(context.Background(), NameIPaddr2, append(slices.Clone(args), op), o)
	}
	took := make([]time.Duration, 0, b.N)
	err := h.Do(func() error {
		b.ResetTimer()
		for range b.N {
			began := time.Now()
			if rc := run("start"); rc != ExitOK {
				return fmt.Errorf("start: exit %d", rc)
			}
			took = append(took, time.Since(began))
			b.StopTimer()
			if rc := run("stop"); rc != ExitOK {
				return fmt.Errorf("stop: exit %d", rc)
			}
			b.StartTimer()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
}
