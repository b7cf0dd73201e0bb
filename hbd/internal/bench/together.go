//go:build linux

package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// SearchJob is one search under loss with both CPUs busy: a limit search
// (Ladder set: its settings tried from the fastest up at Loss) or the loss
// search (Losses raised one after another at Timing).
type SearchJob struct {
	Driver Driver
	Ladder []Timing
	Loss   float64 // percent, the limit search's
	Timing Timing  // the loss search's
	Losses []float64
}

// IsLimit tells a limit search from the loss search.
func (j SearchJob) IsLimit() bool { return len(j.Ladder) > 0 }

func (j SearchJob) String() string {
	if j.IsLimit() {
		return limitName(j.Driver.Key(), j.Loss)
	}
	return fmt.Sprintf("%s's loss search at %s", j.Driver.Key(), j.Timing)
}

// limitName names daemon key's limit search at loss percent.
func limitName(key string, loss float64) string {
	return fmt.Sprintf("%s's limit at %v %% loss", key, loss)
}

// searchJobs lists the searches opts asks for among the daemons that
// run: every limit daemon's at every loss rate, then the loss search.
func searchJobs(live []Driver, opts Options) []SearchJob {
	var jobs []SearchJob
	if opts.Limit.Step > 0 {
		for _, d := range live {
			ladder := opts.Limit.Ladders[d.Key()]
			if !slices.Contains(opts.Limit.Daemons, d.Key()) || len(ladder) == 0 {
				continue
			}
			for _, loss := range opts.Limit.Losses {
				jobs = append(jobs, SearchJob{Driver: d, Ladder: ladder, Loss: loss})
			}
		}
	}
	if opts.SearchStep > 0 && len(opts.SearchLosses) > 0 {
		for _, d := range live {
			if d.Key() == opts.SearchDaemon {
				jobs = append(jobs, SearchJob{Driver: d, Timing: opts.SearchTiming, Losses: slices.Clone(opts.SearchLosses)})
				break
			}
		}
	}
	return jobs
}

// besides is, for each job, the others it ran beside ("" for none).
func besides(jobs []SearchJob) [][]string {
	out := make([][]string, len(jobs))
	if len(jobs) < 2 {
		return out
	}
	for i := range jobs {
		for j, o := range jobs {
			if j != i {
				out[i] = append(out[i], o.String())
			}
		}
	}
	return out
}

// rigBound is a driver whose nodes live in one rig (Heartbeat boots its
// nodes once in the rig of its first cluster): another rig needs a
// driver of its own.
type rigBound interface {
	ForRig() Driver
}

// Together runs every job at once, job j in rigs[j] (each a lab of its
// own, with its own loss), under one set of cpus busy loops that spin
// from before the first cluster starts until the last search ends, so
// that a step of one search and a step of another share both busy CPUs
// instead of taking turns. Each search runs exactly the steps it would
// run alone: a fresh cluster for each, the same loss, the same verdict
// (its first false failover ends it; a whole step without one passes).
// Each limit says which searches ran beside it, and so does the last
// result for the loss search's steps.
func Together(ctx context.Context, rigs []*Rig, jobs []SearchJob, cpus int, step, searchStep time.Duration, logf func(string, ...any)) ([]Limit, []Soak, []string) {
	limits := make([]Limit, len(jobs))
	searches := make([][]Soak, len(jobs))
	beside := besides(jobs)
	if len(rigs) < len(jobs) || len(rigs) == 0 {
		err := fmt.Errorf("%d labs for %d searches", len(rigs), len(jobs))
		return failAll(jobs, beside, step, searchStep, err)
	}
	if cpus > 0 {
		stopBusy, err := Busy(rigs[0], cpus)
		if err != nil {
			return failAll(jobs, beside, step, searchStep, fmt.Errorf("busy loops: %w", err))
		}
		defer stopBusy()
	}
	if len(jobs) > 1 {
		names := make([]string, len(jobs))
		for j, job := range jobs {
			names[j] = job.String()
		}
		logf("searches together, each in a lab of its own, under %d busy loops: %s", cpus, strings.Join(names, "; "))
	}
	var wg sync.WaitGroup
	for j, job := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rn := &Runner{Rig: rigs[j], Every: 10 * time.Millisecond, Logf: logf}
			d := job.Driver
			if b, ok := d.(rigBound); ok && j > 0 {
				d = b.ForRig()
			}
			if job.IsLimit() {
				limits[j] = rn.LimitSearch(ctx, d, job.Ladder, job.Loss, 0, step)
				limits[j].Beside = beside[j]
				return
			}
			rn.logf("loss search %s %s, %v, %s each …", d.Key(), job.Timing, job.Losses, searchStep)
			searches[j] = rn.SoakRun(ctx, d, job.Timing, 0, searchStep, job.Losses)
		}()
	}
	wg.Wait()
	return collect(jobs, limits, searches, beside)
}

// failAll is every job's result when none could run.
func failAll(jobs []SearchJob, beside [][]string, step, searchStep time.Duration, err error) ([]Limit, []Soak, []string) {
	limits := make([]Limit, len(jobs))
	searches := make([][]Soak, len(jobs))
	for j, job := range jobs {
		if job.IsLimit() {
			limits[j] = Limit{Daemon: job.Driver.Key(), Loss: job.Loss, Step: step, Ladder: job.Ladder,
				Steps: []Soak{{Daemon: job.Driver.Key(), Timing: job.Ladder[0], Loss: job.Loss, Step: step, Err: err.Error()}}}
			continue
		}
		searches[j] = []Soak{{Daemon: job.Driver.Key(), Timing: job.Timing, Step: searchStep, Err: err.Error()}}
	}
	return collect(jobs, limits, searches, beside)
}

// collect orders the results as the jobs: the limits, then the loss
// search's steps and what it ran beside.
func collect(jobs []SearchJob, limits []Limit, searches [][]Soak, beside [][]string) ([]Limit, []Soak, []string) {
	var ls []Limit
	var ss []Soak
	var sb []string
	for j, job := range jobs {
		if job.IsLimit() {
			ls = append(ls, limits[j])
			continue
		}
		ss, sb = append(ss, searches[j]...), beside[j]
	}
	return ls, ss, sb
}
