package sim

import (
	"github.com/hbdproject/hbd/hbd/config"
	"math/rand/v2"
	"time"
)

// RandomConfig derives a run from a seed. Even seeds are calm runs: loss
// (bounded as CheckCalm requires), jitter below one keepalive,
// duplication, staggered starts, and no crash or partition, so no node may
// ever be declared dead. Odd seeds add crashes, graceful stops, restarts
// and partitions. Everything else is drawn from the seed.
func RandomConfig(seed uint64) Config {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	ka := time.Duration(500+r.IntN(4)*250) * time.Millisecond // 0.5 .. 1.25 s
	ratio := 4 + r.IntN(5)                                    // deadtime = 4..8 keepalives
	c := Config{
		Seed:      seed,
		Nodes:     2 + r.IntN(2),
		Links:     1 + r.IntN(2),
		Keepalive: ka,
		Deadtime:  time.Duration(ratio) * ka,
		Duration:  30 * time.Second,
		Loss:      r.Float64() * 0.3,
		Dup:       r.Float64() * 0.1,
		DelayMin:  time.Duration(r.IntN(5000)) * time.Microsecond,
	}
	c.Warntime = c.Deadtime * 2 / 3
	c.Initdead = 2 * c.Deadtime
	c.MaxLostInARow = ratio - 2
	// Jitter below one keepalive: reordering, but within what deadtime covers.
	c.DelayMax = c.DelayMin + time.Duration(r.Int64N(int64(ka/2)))
	c.StartSkew = time.Duration(r.Int64N(int64(c.Initdead / 2)))
	if r.IntN(5) == 0 {
		c.Nodes = 4
	}
	if seed%2 == 1 {
		c.Crashes = r.IntN(4)
		c.Partitions = r.IntN(3)
		c.GracefulShare = 0.3
		c.DownMin = ka
		c.DownMax = 3 * c.Deadtime
		if c.Crashes == 0 && c.Partitions == 0 {
			c.Crashes = 1
		}
	}
	return c
}

// RandomResourceConfig derives a run with resource groups from a seed:
// 1..3 groups with random preferred nodes, 2 nodes (3 or 4 in one seed
// of four), auto_failback on, off or legacy, scripts that take up to
// twice the deadtime, failed starts, rare failed stops, operator standby
// / takeover / cleanup commands, crashes (machine or daemon only, during
// starts and stops too), graceful stops, restarts and partitions that
// heal — all before QuietAfter, so that the end of the run can be checked
// for Available and Preferred.
func RandomResourceConfig(seed uint64) Config {
	r := rand.New(rand.NewPCG(seed, 0x6e50))
	ka := time.Duration(500+r.IntN(3)*250) * time.Millisecond // 0.5 .. 1 s
	ratio := 4 + r.IntN(4)
	c := Config{
		Seed:      seed,
		Nodes:     2,
		Links:     1 + r.IntN(2),
		Keepalive: ka,
		Deadtime:  time.Duration(ratio) * ka,
		Loss:      r.Float64() * 0.2,
		Dup:       r.Float64() * 0.05,
		DelayMin:  time.Duration(r.IntN(3000)) * time.Microsecond,
		Groups:    1 + r.IntN(3),
	}
	if r.IntN(4) == 0 {
		c.Nodes = 3 + r.IntN(2)
	}
	c.Warntime = c.Deadtime * 2 / 3
	c.Initdead = 2 * c.Deadtime
	c.MaxLostInARow = ratio - 2
	c.DelayMax = c.DelayMin + time.Duration(r.Int64N(int64(ka/4)))
	c.StartSkew = time.Duration(r.Int64N(int64(c.Initdead / 2)))
	c.AutoFailback = []config.AutoFailback{config.FailbackOn, config.FailbackOff, config.FailbackLegacy}[r.IntN(3)]
	c.ScriptMin = time.Duration(r.IntN(200)) * time.Millisecond
	c.ScriptMax = c.ScriptMin + time.Duration(r.Int64N(int64(2*c.Deadtime)))
	c.StartFail = r.Float64() * 0.15
	c.StopFail = r.Float64() * 0.03
	c.Commands = r.IntN(5)
	c.Crashes = r.IntN(4)
	c.Partitions = r.IntN(3)
	c.GracefulShare = 0.3
	c.DaemonKillShare = 0.4
	c.DownMin = ka
	c.DownMax = 3 * c.Deadtime
	active := 30*time.Second + time.Duration(r.IntN(40))*time.Second
	c.QuietAfter = active
	c.FailbackDelay = time.Duration(r.IntN(4)) * c.Deadtime / 2 // 0 .. 1.5 deadtimes
	if c.Quorum.Enabled(c.Nodes) && c.Partitions > 0 {
		// Quorum without fencing keeps a partition's sides apart only when
		// scripts finish within about a deadtime (docs/config.md): scale
		// the scripts down to under a third of it, drawing nothing more.
		c.ScriptMax = c.ScriptMin + (c.ScriptMax-c.ScriptMin)/6
	}
	c.Duration = active + c.DownMax + c.Settle() + c.Keepalive
	return c
}
