//go:build linux

package bench

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Plan is what a bench will run and about how long it will take, so that
// an operator knows before starting it. The per-run figures are a model
// (startup, the scenario's observation, cleanup) fitted to runs on a
// 2-CPU machine; the limit search's length depends on where the limit
// lies, so it is given as a range: one full step per loss rate when the
// fastest setting passes, every setting a full step at most.
type Plan struct {
	Runs               int           // scenario runs
	Scenarios          time.Duration // all of them
	Idle               time.Duration
	LimitMin, LimitMax time.Duration
	SearchMax          time.Duration // the loss search, at most
	// Together is how many searches (limit searches and the loss search)
	// run at the same time (Together): the searches take as long as the
	// longest of them, not their sum. 0 or 1: one search, or none.
	Together int
}

// Min and Max bound the whole bench.
func (p Plan) Min() time.Duration { return p.Scenarios + p.Idle + p.LimitMin }
func (p Plan) Max() time.Duration { return p.Scenarios + p.Idle + p.searchesMax() }

// searchesMax is the searches' longest: their sum one after another, the
// longest of them side by side.
func (p Plan) searchesMax() time.Duration {
	if p.Together > 1 {
		return max(p.LimitMax, p.SearchMax)
	}
	return p.LimitMax + p.SearchMax
}

func (p Plan) String() string {
	var parts []string
	if p.Runs > 0 {
		parts = append(parts, fmt.Sprintf("%d scenario runs %s", p.Runs, roundMin(p.Scenarios)))
	}
	if p.Idle > 0 {
		parts = append(parts, "idle "+roundMin(p.Idle))
	}
	if p.LimitMax > 0 {
		parts = append(parts, fmt.Sprintf("limit search %s to %s", roundMin(p.LimitMin), roundMin(p.LimitMax)))
	}
	if p.SearchMax > 0 {
		parts = append(parts, "loss search at most "+roundMin(p.SearchMax))
	}
	if p.Together > 1 {
		parts = append(parts, fmt.Sprintf("the %d searches side by side", p.Together))
	}
	total := roundMin(p.Min())
	if p.Max() != p.Min() {
		total += " to " + roundMin(p.Max())
	}
	if len(parts) == 0 {
		return total
	}
	return total + " (" + strings.Join(parts, ", ") + ")"
}

// roundMin renders d to the minute ("1h05m", "7m"; "<1m").
func roundMin(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	switch {
	case d > 0 && m == 0:
		return "<1m"
	case m >= 60:
		return fmt.Sprintf("%dh%02dm", m/60, m%60)
	}
	return fmt.Sprintf("%dm", m)
}

// NewPlan estimates a bench of the daemons keys (driver keys) with opts.
func NewPlan(keys []string, opts Options) Plan {
	var p Plan
	n := max(opts.N, 1)
	for _, s := range opts.Settings {
		for _, k := range keys {
			t, ok := s.Timing[k]
			if !ok {
				continue
			}
			for _, sc := range opts.Scenarios {
				p.Runs += n
				p.Scenarios += time.Duration(n) * estimateRun(k, t, sc)
			}
			if opts.Idle > 0 {
				p.Idle += opts.Idle + runSetup(k, t) + idleSettle(t) + 500*time.Millisecond
			}
		}
	}
	// The searches run side by side: each as long as alone, plus a lab
	// of its own for each beyond the first; the longest decides.
	var searches int
	if opts.Limit.Step > 0 {
		for _, k := range keys {
			ladder := opts.Limit.Ladders[k]
			if !slices.Contains(opts.Limit.Daemons, k) || len(ladder) == 0 {
				continue
			}
			for range opts.Limit.Losses {
				lmin := opts.Limit.Step + runSetup(k, ladder[0])
				var lmax time.Duration
				for _, t := range ladder {
					lmax += opts.Limit.Step + runSetup(k, t)
				}
				p.LimitMin, p.LimitMax = max(p.LimitMin, lmin), max(p.LimitMax, lmax)
				searches++
			}
		}
	}
	if opts.SearchStep > 0 && len(opts.SearchLosses) > 0 && slices.Contains(keys, opts.SearchDaemon) {
		p.SearchMax = time.Duration(len(opts.SearchLosses))*opts.SearchStep + runSetup(opts.SearchDaemon, opts.SearchTiming)
		searches++
	}
	if searches > 1 {
		p.Together = searches
		lab := time.Duration(searches-1) * labBuild
		p.LimitMin += lab
		p.LimitMax += lab
		p.SearchMax += lab
	}
	return p
}

// labBuild is about how long another lab takes to build and remove (its
// namespaces, bridge and hosts) for a search beside the first.
const labBuild = 2 * time.Second

// isKeepalived, isHeartbeat tell the daemons apart by key.
func isKeepalived(key string) bool { return strings.HasPrefix(key, "keepalived") }
func isHeartbeat(key string) bool  { return key == "heartbeat" }

// startup is about how long the pair takes from its start until the
// address is in place on node1 (figures of n=1 runs of every daemon at
// both settings on the 2-CPU machine, 2026-12-08, docs/benchmarks-history.md).
func startup(key string, t Timing) time.Duration {
	switch {
	case isKeepalived(key):
		// Both start as backups; node1 becomes master after its
		// master-down interval; the notify scripts then start vip and
		// web.
		if key == "keepalived" {
			return 4*t.Advert + 100*time.Millisecond
		}
		return 4 * t.Advert
	case isHeartbeat(key):
		// Heartbeat 3.0.6 takes its group 10 to 12 s after both nodes
		// start when initdead is shorter (11 to 11.5 s at initdead 1 s),
		// and about initdead and 1.5 s when it is longer.
		return max(initdead(t), 10*time.Second) + 1500*time.Millisecond
	case key == "hbd-builtin":
		// The preferred node adds the address at once, in its process.
		return 0
	case key == "hbd-resourced":
		return 200 * time.Millisecond
	}
	return 150 * time.Millisecond // hbd's vip and web scripts
}

// upTime is how long up waits: Settled wants every request of the last
// quiet(t) answered by node1, and at least half as many as that stretch
// holds. When the address is in place before the first request gives up
// (it waits for it), that is half of quiet after the start, and the
// grace of the requests in flight; when it comes later, the failed
// requests must first leave the stretch: the whole quiet after it.
func upTime(key string, t Timing) time.Duration {
	q, s := quiet(t), startup(key, t)
	if s < 100*time.Millisecond {
		return q/2 + settleGrace
	}
	return s + q
}

// settleGrace leaves out of Settled the requests that may still be in
// flight.
const settleGrace = 250 * time.Millisecond

// stopTime is about how long a graceful stop takes to return.
func stopTime(key string) time.Duration {
	switch {
	case isKeepalived(key):
		return time.Second
	case isHeartbeat(key):
		return 3 * time.Second
	}
	return 200 * time.Millisecond
}

// cleanup is a run's teardown (and the reset before it, when the run
// before did not leave the rig clean): killing the daemons, the
// resources' stop, the address and ARP entries dropped.
func cleanup(key string) time.Duration {
	if key == "hbd-resourced" {
		return 300 * time.Millisecond // resource-agents' IPaddr2 stop
	}
	return 150 * time.Millisecond
}

// runSetup is a run's cost besides its scenario: the cleanup, the start,
// and the wait until node1 serves, settled.
func runSetup(key string, t Timing) time.Duration {
	return cleanup(key) + upTime(key, t)
}

// estimateRun is about how long one run of scenario sc takes.
func estimateRun(key string, t Timing, sc string) time.Duration {
	q, det := quiet(t), t.Detect()
	long := max(5*time.Second, 3*det)
	// Settling after a handover needs quiet after the move; a stop
	// returns meanwhile, or later (keepalived's and Heartbeat's).
	handover := max(stopTime(key), q)
	var act time.Duration
	switch sc {
	case ScCut:
		act = det + q
	case ScStop:
		act = handover
	case ScStandby, ScTakeover:
		act = q
		if isHeartbeat(key) {
			act += 2 * time.Second // hb_standby and hb_takeover's own time
		}
	case ScFailback:
		// hbd keeps the address on the peer for failback_delay (2 s)
		// after the preferred node's start; Heartbeat restarted beside a
		// running peer hears it at once (no initdead) and takes it back
		// about 2 s later; keepalived preempts after its master-down
		// interval.
		back := 2 * time.Second
		if isKeepalived(key) {
			back = startup(key, t)
		}
		act = handover + failbackControl + back + q
	case ScKill9:
		act = det + max(long, startup(key, t)+q)
		if isHeartbeat(key) {
			// Heartbeat restarted after a kill -9 settles 30 s after
			// the restart or not before the observation ends (45 s).
			act = det + 35*time.Second
		}
	case ScHeal:
		act = det + max(time.Second, det) + max(long, q)
		switch {
		case !isHeartbeat(key) && !isKeepalived(key):
		case det >= time.Second:
			// Heartbeat and keepalived at 1 s mostly leave the pair
			// unsettled until the observation ends (40 s).
			act = det + max(time.Second, det) + 40*time.Second
		case isHeartbeat(key):
			// Heartbeat at its fastest settles about 20 s after the
			// heal.
			act = det + max(time.Second, det) + 20*time.Second
		}
	}
	if isKeepalived(key) && (sc == ScStandby || sc == ScTakeover) {
		// Skipped before any setup (Keepalived.Lacks).
		return 0
	}
	return runSetup(key, t) + act
}
