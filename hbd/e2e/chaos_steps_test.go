//go:build linux

package e2e

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// chaosKind is one kind of fault TestChaos injects.
type chaosKind int

const (
	chaosCut    chaosKind = iota // the target's links cut, then healed
	chaosKill                    // kill -9 of the target's hbd, then a restart
	chaosTerm                    // SIGTERM to the target's hbd, then a restart
	chaosReload                  // ha.cf edited with another keepalive, then SIGHUP
	chaosFlood                   // the target's heartbeat port flooded with unsigned datagrams
	chaosLoss                    // a share of the target's frames dropped by the bridge
	chaosKinds
)

var chaosKindNames = [chaosKinds]string{
	chaosCut:    "cut+heal",
	chaosKill:   "kill -9+restart",
	chaosTerm:   "SIGTERM+restart",
	chaosReload: "reload keepalive",
	chaosFlood:  "flood burst",
	chaosLoss:   "loss burst",
}

func (k chaosKind) String() string { return chaosKindNames[k] }

// Bounds of the random steps: every fault ends within chaosMaxHold.
const (
	chaosMinHold = 300 * time.Millisecond
	chaosMaxHold = 3 * time.Second
	chaosMinLoss = 10 // percent
	chaosMaxLoss = 25
)

// chaosKeepalives are the keepalives a reload picks from: all well under
// half of groupTiming's deadtime (1 s) and its warntime (600 ms).
var chaosKeepalives = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}

// chaosStep is one fault, drawn from the seed alone (never from what the
// cluster does), so that a seed replays the same sequence.
type chaosStep struct {
	kind   chaosKind
	holder bool          // aimed at the VIP's holder, else at the other node
	hold   time.Duration // how long the fault lasts (down, cut, flooded, lossy)
	loss   int           // percent, for chaosLoss
	ka     time.Duration // the new keepalive, for chaosReload
	both   bool          // chaosReload edits both nodes, the target first
}

func (s chaosStep) String() string {
	who := "the other node"
	if s.holder {
		who = "the holder"
	}
	switch s.kind {
	case chaosCut:
		return fmt.Sprintf("links of %s cut for %s", who, s.hold)
	case chaosKill:
		return fmt.Sprintf("kill -9 of %s's hbd, restarted after %s", who, s.hold)
	case chaosTerm:
		return fmt.Sprintf("SIGTERM to %s's hbd, restarted after %s", who, s.hold)
	case chaosReload:
		if s.both {
			other := "the holder"
			if s.holder {
				other = "the other node"
			}
			who += " and then on " + other
		}
		return fmt.Sprintf("keepalive %s on %s (ha.cf edited, SIGHUP)", s.ka, who)
	case chaosFlood:
		return fmt.Sprintf("heartbeat port of %s flooded for %s", who, s.hold)
	case chaosLoss:
		return fmt.Sprintf("%d%% loss on %s's port for %s", s.loss, who, s.hold)
	}
	return "?"
}

// chaosPlan draws steps from a seed: each round of len(chaosKinds) steps
// is every kind once, in a random order, so that even a short run
// meets every kind.
type chaosPlan struct {
	rng  *rand.Rand
	bag  []chaosKind
	seed uint64
}

func newChaosPlan(seed uint64) *chaosPlan {
	return &chaosPlan{rng: rand.New(rand.NewPCG(seed, 0xc4a05)), seed: seed}
}

func (p *chaosPlan) next() chaosStep {
	if len(p.bag) == 0 {
		for k := range chaosKinds {
			p.bag = append(p.bag, k)
		}
		p.rng.Shuffle(len(p.bag), func(i, j int) { p.bag[i], p.bag[j] = p.bag[j], p.bag[i] })
	}
	s := chaosStep{kind: p.bag[0], holder: p.rng.IntN(3) > 0}
	p.bag = p.bag[1:]
	// Holds are whole tens of milliseconds, so that the printed step is
	// exactly the step run.
	span := int64((chaosMaxHold - chaosMinHold) / (10 * time.Millisecond))
	s.hold = chaosMinHold + time.Duration(p.rng.Int64N(span+1))*10*time.Millisecond
	s.loss = chaosMinLoss + p.rng.IntN(chaosMaxLoss-chaosMinLoss+1)
	s.ka = chaosKeepalives[p.rng.IntN(len(chaosKeepalives))]
	s.both = p.rng.IntN(2) == 0
	return s
}
