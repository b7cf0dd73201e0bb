package sim

import (
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
