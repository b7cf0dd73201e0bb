package sim

import (
	"math/rand/v2"
	"time"
)

// RandomAbandonConfig is RandomFaultConfig (pauses, cuts, partitions,
// crashes) with starts that read their statuses for up to two deadtimes
// before their start script begins (Config.StatusMax): a peer declared
// dead during a stall or a partition is often heard again while a
// takeover of its groups still reads them, and the takeover is called off
// (cluster.AbandonStart). The same promises as RandomFaultConfig's are
// checked.
func RandomAbandonConfig(seed uint64) Config {
	c := RandomFaultConfig(seed)
	r := rand.New(rand.NewPCG(seed, 0xab4d))
	c.StatusMin = c.Deadtime / 4
	c.StatusMax = c.StatusMin + time.Duration(r.Int64N(int64(2*c.Deadtime)))
	c.Duration = c.QuietAfter + max(c.DownMax, c.PauseMax) + c.Settle() + c.Keepalive
	return c
}
