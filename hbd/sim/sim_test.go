package sim

import (
	"flag"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

var (
	seedFlag  = flag.Uint64("seed", 0, "run only this seed (replay a failure)")
	seedsFlag = flag.Int("seeds", 0, "number of seeds TestMembership runs (default 2000; 1000 with -race, 300 with -short)")
	codecFlag = flag.Bool("codec", false, "carry messages through the wire package's classic text codec instead of a deep copy")
)

func classicCodec(m *wire.Message) (*wire.Message, error) {
	b, err := m.AppendClassic(nil)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	out, _, err := wire.ParseClassic(b)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return out, nil
}

// withCodec makes gen's configs carry messages through the classic text
// codec when -codec is given.
func withCodec(gen func(uint64) Config) func(uint64) Config {
	return func(seed uint64) Config {
		c := gen(seed)
		if *codecFlag {
			c.Codec = classicCodec
		}
		return c
	}
}

func configFor(seed uint64) Config { return withCodec(RandomConfig)(seed) }

// report prints a failing seed of test with its trace and the command
// replaying it.
func report(t *testing.T, test string, c Config, res Result) {
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
	fmt.Fprintf(&b, "replay: go test ./hbd/sim -run %s -seed=%d -v", test, c.Seed)
	if *codecFlag {
		b.WriteString(" -codec")
	}
	t.Error(b.String())
}

func withoutCodec(c Config) Config { c.Codec = nil; return c }

func TestMembership(t *testing.T) {
	if *seedFlag != 0 {
		c := configFor(*seedFlag)
		res := Run(c)
		if len(res.Violations) > 0 {
			report(t, "TestMembership", c, res)
			return
		}
		t.Logf("seed %d: ok, %d events, %d restart checks, config %+v", c.Seed, res.Events, res.Checks3, withoutCodec(c))
		return
	}
	n := *seedsFlag
	if n == 0 {
		n = 2000
		if raceEnabled {
			n = 1000
		}
		if testing.Short() {
			n = 300
		}
	}
	start := time.Now()
	var (
		mu       sync.Mutex
		failed   []Result
		failCfg  []Config
		events   int
		first    int
		checks3  int
		next     = uint64(1)
		wg       sync.WaitGroup
		maxFails = 3
	)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				seed := next
				next++
				stop := seed > uint64(n) || len(failed) >= maxFails
				mu.Unlock()
				if stop {
					return
				}
				c := configFor(seed)
				res := Run(c)
				mu.Lock()
				events += res.Events
				first += res.RestartFirst
				checks3 += res.Checks3
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
		report(t, "TestMembership", failCfg[i], failed[i])
	}
	el := time.Since(start)
	t.Logf("%d seeds in %v (%.0f seeds/s), %d events, restart checks applied: %d at the first packet, %d a keepalive later", n, el.Round(time.Millisecond), float64(n)/el.Seconds(), events, first, checks3)
	// Half the seeds crash and restart nodes: CheckRestartSeen must have
	// judged restarts in a fair share of them, not merely never failed.
	if len(failed) == 0 && (first < n/4 || checks3 < n/4) {
		t.Errorf("CheckRestartSeen applied %d times at the first packet and %d a keepalive later in %d runs, want at least %d each", first, checks3, n, n/4)
	}
}

func TestDeterministic(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		c := configFor(seed)
		c.Hash = true
		a, b := Run(c), Run(c)
		if a.Hash != b.Hash || a.Events != b.Events {
			t.Errorf("seed %d: hash %x/%x events %d/%d", seed, a.Hash, b.Hash, a.Events, b.Events)
		}
		d := configFor(seed + 100)
		d.Hash = true
		if Run(d).Hash == a.Hash {
			t.Errorf("seeds %d and %d gave the same trace hash", seed, seed+100)
		}
	}
}

// TestCheckerCatchesBrokenTiming breaks the timing assumptions on purpose
// and asserts that the checker reports it: a checker that cannot fail
// proves nothing.
func TestCheckerCatchesBrokenTiming(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		// Delay longer than deadtime: live peers are declared dead.
		{"delay beyond deadtime", func(c *Config) { c.DelayMin, c.DelayMax = 2*c.Deadtime, 2*c.Deadtime+c.Keepalive }, CheckCalm},
		// Loss not covered by deadtime: more lost in a row than it allows.
		{"unbounded loss", func(c *Config) { c.Loss, c.MaxLostInARow = 0.7, -1 }, CheckCalm},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			found := false
			for seed := uint64(2); seed < 40 && !found; seed += 2 {
				c := RandomConfig(seed)
				tc.edit(&c)
				for _, v := range Run(c).Violations {
					found = found || v.Invariant == tc.want
				}
			}
			if !found {
				t.Errorf("no %s violation reported", tc.want)
			}
		})
	}
}

// TestCheckerCatchesLateDeclaration checks CheckDeadInTime against a
// core that is told a deadtime twice as long as the checker assumes.
func TestCheckerCatchesLateDeclaration(t *testing.T) {
	found := false
	for seed := uint64(1); seed < 60 && !found; seed += 2 {
		c := RandomConfig(seed)
		c.Crashes, c.Partitions, c.GracefulShare = 2, 0, 0
		for _, v := range runWithCoreDeadtime(c, 2*c.Deadtime).Violations {
			found = found || v.Invariant == CheckDeadInTime
		}
	}
	if !found {
		t.Errorf("no %s violation reported", CheckDeadInTime)
	}
}
