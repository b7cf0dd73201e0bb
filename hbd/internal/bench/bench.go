//go:build linux

package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Options choose what a bench measures.
type Options struct {
	N         int           // runs per cell (3)
	Scenarios []string      // default Scenarios
	Settings  []SettingsSet // default DefaultSettings
	Idle      time.Duration // idle measurement per daemon and settings; 0 skips it
	// Limit is the limit search (LimitSearch) for each daemon of
	// Limit.Daemons that runs.
	Limit LimitOptions
	// SearchStep is how long each loss rate of the loss search at
	// SearchTiming runs, for SearchDaemon; 0 skips the search.
	SearchStep   time.Duration
	SearchTiming Timing
	SearchLosses []float64
	SearchDaemon string
	BusyCPUs     int // busy loops during the limit and loss searches (runtime.NumCPU())
	// NewRig builds another lab like the bench's for each search beyond
	// the first: the searches run side by side (Together).
	NewRig func(context.Context) (*Rig, error)
	// Keep, when not "", is where the bench's lab's files are kept: the
	// files of each search's lab beyond the first go to Keep-lab2,
	// Keep-lab3… before that lab is closed.
	Keep string
	// Flags are the command's settings, every one, as `-name value`:
	// the report repeats them.
	Flags []string
	Logf  func(format string, args ...any)
}

// LimitOptions set up the limit search.
type LimitOptions struct {
	Step    time.Duration       // each setting's stretch; 0 skips the search
	Losses  []float64           // percent, one search per loss rate
	Daemons []string            // driver keys
	Ladders map[string][]Timing // by driver key, fastest first
}

// DefaultSettings: matched (1 s / 3 s; advert_int 1) and each daemon's
// fastest stable setting (Heartbeat 100 ms / 500 ms, keepalived
// advert_int 0.01, the shortest each ran without false failovers on an
// idle machine, and hbd at hbdFast).
func DefaultSettings(hbdFast Timing) []SettingsSet {
	return []SettingsSet{
		{Name: "matched", Timing: withHbd(map[string]Timing{
			"heartbeat":      {Keepalive: time.Second, Deadtime: 3 * time.Second},
			"keepalived":     {Advert: time.Second},
			"keepalived-vip": {Advert: time.Second},
		}, Timing{Keepalive: time.Second, Deadtime: 3 * time.Second})},
		{Name: "fastest", Timing: withHbd(map[string]Timing{
			"heartbeat":      {Keepalive: 100 * time.Millisecond, Deadtime: 500 * time.Millisecond},
			"keepalived":     {Advert: 10 * time.Millisecond},
			"keepalived-vip": {Advert: 10 * time.Millisecond},
		}, hbdFast)},
	}
}

// EqualDetection is the "detection" settings: keepalived at advert_int
// 0.01, whose backup declares the master down 3 × advert_int + skew after
// its last advert (skew = (256 − priority) × advert_int / 256: 6.1 ms at
// the backup's priority 100, 36.1 ms in all), and hbd at keepalive 10 ms
// with hbdDetect's deadtime, counted from the last heartbeat as well
// (10ms/36ms: the same detection time), so that a link cut compares what
// each does once it knows, not how soon it knows.
func EqualDetection(hbdDetect Timing) SettingsSet {
	return SettingsSet{Name: "detection", Timing: withHbd(map[string]Timing{
		"keepalived":     {Advert: 10 * time.Millisecond},
		"keepalived-vip": {Advert: 10 * time.Millisecond},
	}, hbdDetect)}
}

// HbdKeys are the keys of the hbd rows (Hbd.Key), which share a timing.
var HbdKeys = []string{"hbd", "hbd-builtin", "hbd-resourced"}

// withHbd sets t for every hbd row in m.
func withHbd(m map[string]Timing, t Timing) map[string]Timing {
	for _, k := range HbdKeys {
		m[k] = t
	}
	return m
}

// MachineInfo describes this machine.
func MachineInfo() Machine {
	m := Machine{CPUs: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if m.CPU == "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "uname", "-m").Output(); err == nil {
			m.CPU = strings.TrimSpace(string(out))
		}
	}
	return m
}

// LoadAverage is /proc/loadavg's 1, 5 and 15 minute load averages ("" if
// unreadable).
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// Bench runs everything opts asks for with the drivers that can run here,
// in rig, and returns the report. It never fails as a whole: what could
// not be measured is said in the report.
func Bench(ctx context.Context, rig *Rig, drivers []Driver, opts Options) *Report {
	if opts.N <= 0 {
		opts.N = 3
	}
	if opts.Scenarios == nil {
		opts.Scenarios = Scenarios
	}
	rep := &Report{N: opts.N, Settings: opts.Settings, Scenarios: opts.Scenarios, SearchStep: opts.SearchStep}
	part := Part{Started: time.Now(), Machine: MachineInfo(), LoadStart: LoadAverage(), Flags: opts.Flags}
	rn := &Runner{Rig: rig, Every: 10 * time.Millisecond, Logf: opts.Logf}
	var live []Driver
	for _, d := range drivers {
		info := DaemonInfo{Key: d.Key(), Label: d.Label(), Version: d.Version(), Skipped: d.Missing()}
		rep.Daemons = append(rep.Daemons, info)
		if info.Skipped == "" {
			live = append(live, d)
		} else {
			rn.logf("skipping %s: %s", info.Label, info.Skipped)
		}
	}
	// Interleaved: for each cell, run 1 of every daemon, then run 2 …
	for _, s := range opts.Settings {
		for _, sc := range opts.Scenarios {
			failures := map[string]int{}
			for i := 1; i <= opts.N; i++ {
				for _, d := range live {
					t, ok := s.Timing[d.Key()]
					if !ok || ctx.Err() != nil {
						continue
					}
					if failures[d.Key()] >= 2 {
						rep.Runs = append(rep.Runs, Run{Daemon: d.Key(), Settings: s.Name, Scenario: sc, Index: i, Err: "not run: the two runs before could not be set up"})
						continue
					}
					rn.logf("%s %s %s run %d/%d …", d.Key(), s.Name, sc, i, opts.N)
					run := rn.Scenario(ctx, d, t, s.Name, sc, i)
					if run.Err != "" {
						failures[d.Key()]++
						rn.logf("  failed: %s", run.Err)
					} else if !run.Skip {
						rn.logf("  unavailable %s (open %v, %d failed), switch %s, duplicate %s, final %s %v",
							run.Unavail.Round(time.Millisecond), run.Open, run.Failed, run.Switch.Round(time.Millisecond), run.Dup.Round(time.Millisecond), run.Final, run.Notes)
					}
					rep.Runs = append(rep.Runs, run)
				}
			}
		}
	}
	if opts.Idle > 0 {
		for _, s := range opts.Settings {
			for _, d := range live {
				t, ok := s.Timing[d.Key()]
				if !ok || ctx.Err() != nil {
					continue
				}
				rn.logf("idle %s %s for %s …", d.Key(), s.Name, opts.Idle)
				rep.Idle = append(rep.Idle, rn.IdleCost(ctx, d, t, s.Name, opts.Idle))
			}
		}
	}
	if jobs := searchJobs(live, opts); len(jobs) > 0 && ctx.Err() == nil {
		var note string
		rep.Limits, rep.Search, rep.SearchBeside, note = rn.together(ctx, jobs, opts)
		if note != "" {
			rep.Notes = append(rep.Notes, note)
		}
	}
	if ctx.Err() != nil {
		rep.Notes = append(rep.Notes, "the bench was cut short: "+ctx.Err().Error())
	}
	part.Finished, part.LoadEnd = time.Now(), LoadAverage()
	rep.Parts = []Part{part}
	return rep
}

// together runs the searches side by side (Together): the first in the
// bench's rig, each other in a rig of its own, built for them and closed
// after. When another rig cannot be built it runs them one after another
// in the bench's rig instead (their sum of time, which the plan and the
// default timeout do not count on) and returns a note saying so for the
// report.
func (rn *Runner) together(ctx context.Context, jobs []SearchJob, opts Options) ([]Limit, []Soak, []string, string) {
	rigs := []*Rig{rn.Rig}
	var errs []string
	for j := range jobs[1:] {
		if opts.NewRig == nil {
			errs = append(errs, "no way to build another lab")
			break
		}
		r, err := opts.NewRig(ctx)
		if err != nil {
			errs = append(errs, err.Error())
			break
		}
		defer func() {
			if opts.Keep != "" {
				dir := fmt.Sprintf("%s-lab%d", opts.Keep, j+2)
				if err := r.Keep(dir); err != nil {
					rn.logf("keep a search's lab: %v", err)
				} else {
					rn.logf("kept the files of the lab of %s in %s", jobs[j+1], dir)
				}
			}
			if err := r.Close(); err != nil {
				rn.logf("close a search's lab: %v", err)
			}
		}()
		rigs = append(rigs, r)
	}
	if len(errs) > 0 {
		note := "the searches ran one after another, not side by side: another lab: " + strings.Join(errs, "; ")
		rn.logf("%s", note)
		var ls []Limit
		var ss []Soak
		for _, j := range jobs {
			if ctx.Err() != nil {
				break
			}
			l, s, _ := Together(ctx, []*Rig{rn.Rig}, []SearchJob{j}, opts.BusyCPUs, opts.Limit.Step, opts.SearchStep, rn.logf)
			ls, ss = append(ls, l...), append(ss, s...)
		}
		return ls, ss, nil, note
	}
	ls, ss, beside := Together(ctx, rigs, jobs, opts.BusyCPUs, opts.Limit.Step, opts.SearchStep, rn.logf)
	return ls, ss, beside, ""
}

// hbdbench's defaults, as flag values: the full run's daemons, settings,
// and the limit search's daemons and loss rates (percent).
const (
	DefaultDaemons       = "heartbeat,keepalived,keepalived-vip,hbd,hbd-builtin,hbd-resourced"
	DefaultSettingsNames = "matched,fastest"
	DefaultLimitDaemons  = "hbd-builtin,keepalived-vip"
	DefaultLimitLosses   = "0,10"
)
