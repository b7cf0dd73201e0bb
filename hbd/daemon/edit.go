package daemon

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// watchEdits starts or stops the watch of the configuration directory as
// the configuration in force says (ha.cf `autoreload`, on by default). It
// runs at start and after a reload that changed autoreload.
func (d *Daemon) watchEdits(ctx context.Context) {
	if d.cfg.NoAutoReload {
		if d.watchStop != nil {
			d.watchStop()
			d.watchStop = nil
		}
		select {
		case <-d.reloads: // an edit noticed before: not applied either
		default:
		}
		d.log.Infof("autoreload off: edits of %s are applied on SIGHUP only", d.opts.ConfigDir)
		return
	}
	if d.watchStop != nil {
		return
	}
	wctx, stop := context.WithCancel(ctx)
	d.watchStop = stop
	go watchConfig(wctx, d.opts.ConfigDir, d.watchTiming, d.configPolls, d.reloads, d.log.Logger)
}

// pollConfig is called by the loop at each of its timer's wake-ups:
// every watchTiming.poll it has the watcher compare the files' hashes.
// The watcher then needs no ticker of its own, whose expiries would wake
// the process, and the runtime's monitor thread too. While the standing
// status order sends the heartbeats it rides on its sends
// (sendStanding).
func (d *Daemon) pollConfig(now time.Time) {
	if d.watchStop == nil || now.Before(d.configPoll) {
		return
	}
	d.configPoll = now.Add(d.watchTiming.poll)
	select {
	case d.configPolls <- now:
	default: // the last one is not taken yet
	}
}

// removedGroups lists, sorted, the keys of old's groups that next lacks.
func removedGroups(old, next *config.Config) []string {
	var out []string
	for _, g := range old.Groups {
		if _, ok := next.Group(g.Key()); !ok {
			out = append(out, g.Key())
		}
	}
	slices.Sort(out)
	return out
}

// removalHold keeps an edit that removes groups (which stops their
// resources here) from being applied until the same groups have stayed
// gone for a quiet period: a half-done edit (a haresources line cut to be
// pasted elsewhere, a file written in two steps) stops nothing.
type removalHold struct {
	groups string // the removed groups held, "|"-joined; "" none
	since  time.Time
}

// ready says whether an edit that removes the groups removed may apply at
// now; if not, how long to wait before asking again (first is true the
// first time these groups are held).
func (h *removalHold) ready(removed []string, now time.Time, quiet time.Duration) (ok, first bool, wait time.Duration) {
	key := strings.Join(removed, "|")
	if key == "" {
		h.groups = ""
		return true, false, 0
	}
	if key != h.groups {
		h.groups, h.since, first = key, now, true
	}
	if gone := now.Sub(h.since); gone < quiet {
		return false, first, quiet - gone
	}
	h.groups = ""
	return true, false, 0
}
