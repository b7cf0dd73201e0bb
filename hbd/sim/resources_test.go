package sim

import (
	"flag"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var rseedsFlag = flag.Int("rseeds", 0, "number of seeds TestResources runs (default 2000; 300 with -short or -race)")

func resourceConfigFor(seed uint64) Config {
	c := RandomResourceConfig(seed)
	if *codecFlag {
		c.Codec = classicCodec
	}
	return c
}

func reportResources(t *testing.T, c Config, res Result) {
	t.Helper()
	c.Trace, c.Hash = true, true
	again := Run(c)
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %d violation(s); config %+v\n", c.Seed, len(res.Violations), withoutCodec(c))
	for _, v := range res.Violations {
		fmt.Fprintf(&b, "  %s\n", v)
	}
	b.WriteString("trace:\n")
	for _, l := range again.Trace {
		b.WriteString(l + "\n")
	}
	fmt.Fprintf(&b, "replay: go test ./hbd/sim -run TestResources -seed=%d -v", c.Seed)
	if *codecFlag {
		b.WriteString(" -codec")
	}
	t.Error(b.String())
}

// TestResources runs thousands of seeds of RandomResourceConfig and
// checks Exclusive, Ordered, Available and Preferred (groups.go) besides
// the membership invariants.
func TestResources(t *testing.T) {
	if *seedFlag != 0 {
		c := resourceConfigFor(*seedFlag)
		res := Run(c)
		if len(res.Violations) > 0 {
			reportResources(t, c, res)
			return
		}
		t.Logf("seed %d: ok, %d events, %d starts, %d stops, %d reannounces, %d partition duplicates, end checked: %v; config %+v", c.Seed, res.Events, res.Starts, res.Stops, res.Reannounces, res.Conflicts, res.EndChecks > 0, withoutCodec(c))
		return
	}
	n := *rseedsFlag
	if n == 0 {
		n = 2000
		if testing.Short() || raceEnabled {
			n = 300
		}
	}
	start := time.Now()
	var (
		mu                                    sync.Mutex
		failed                                []Result
		failCfg                               []Config
		events, starts, ends, conflicts, rean int
		next                                  = uint64(1)
		wg                                    sync.WaitGroup
	)
	for k := 0; k < runtime.GOMAXPROCS(0); k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				seed := next
				next++
				stop := seed > uint64(n) || len(failed) >= 3
				mu.Unlock()
				if stop {
					return
				}
				c := resourceConfigFor(seed)
				res := Run(c)
				mu.Lock()
				events += res.Events
				starts += res.Starts
				ends += res.EndChecks
				conflicts += res.Conflicts
				rean += res.Reannounces
				if len(res.Violations) > 0 {
					failed = append(failed, res)
					failCfg = append(failCfg, c)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for i := range failed {
		reportResources(t, failCfg[i], failed[i])
	}
	el := time.Since(start)
	t.Logf("%d seeds in %v (%.0f seeds/s), %d events, %d starts, %d partition duplicates, %d reannounces, end checks in %d runs", n, el.Round(time.Millisecond), float64(n)/el.Seconds(), events, starts, conflicts, rean, ends)
	if ends < n/2 {
		t.Errorf("the end-of-run checks applied in only %d of %d runs", ends, n)
	}
}
