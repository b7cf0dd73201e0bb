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
	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/hbdproject/hbd/resources/agents"
)

// BenchmarkRunStart times what a daemon's takeover runs for a built-in
// address, in a namespace: the in-process start (address added, first
// round of announcements out; an IPv6 address also waits for its local
// route, awaitLocal), with the address removed again between
// iterations. It reports the median and the slowest start beside the
// mean (ns/op), as the takeover path's figure in docs/benchmarks-history.md
// ("The start without its status check"), and the CPU time of the
// process (every thread) per start, cpu-us/op: what a start costs a
// loaded machine beside its wall time.
//
//	flock /tmp/hbd-netns.lock go test ./resources/ipaddr -run '^$' -bench RunStart -benchtime 200x
func BenchmarkRunStart(b *testing.B) {
	netlab.Skip(b)
	for _, tc := range []struct{ name, vip, bits string }{{"ipv4", vip4, "24"}, {"ipv6", vip6, "64"}} {
		b.Run(tc.name, func(b *testing.B) {
			lab := netlab.NewT(b, "bstart")
			h := addHost(b, lab, "a", "10.231.0.1/24", "fd00:231::1/64")
			if err := h.WaitReady(context.Background()); err != nil {
				b.Fatal(err)
			}
			o := agents.RunOptions{StateDir: filepath.Join(b.TempDir(), "rsctmp")}
			args := []string{tc.vip + "/" + tc.bits + "/eth0"}
			run := func(op string) int {
				return Run(context.Background(), NameIPaddr2, append(slices.Clone(args), op), o)
			}
			took := make([]time.Duration, 0, b.N)
			var cpu time.Duration
			err := h.Do(func() error {
				b.ResetTimer()
				for range b.N {
					began, cpu0 := time.Now(), testenv.CPUTime(b)
					if rc := run("start"); rc != ExitOK {
						return fmt.Errorf("start: exit %d", rc)
					}
					took = append(took, time.Since(began))
					cpu += testenv.CPUTime(b) - cpu0
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
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/op")
		})
	}
}
