//go:build linux

package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
)

// WriteJSON saves the report for Merge.
func (rep *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(rep, "", "\t")
	if err != nil {
		return fmt.Errorf("encode the report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}

// ReadJSON loads a report WriteJSON saved.
func ReadJSON(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read a report: %w", err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rep.Parts) == 0 {
		return nil, fmt.Errorf("%s: not a bench report (no part)", path)
	}
	return &rep, nil
}

// Merge makes one report of the parts of a bench run at different times
// (each with its own -daemons, -settings or -scenarios): every part keeps
// its time, machine, load and flags; daemons, settings and scenarios are
// the union, in the parts' order (scenarios in report order); runs,
// idle costs, searches and notes are all kept.
func Merge(parts []*Report) (*Report, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("no report to merge")
	}
	out := &Report{}
	var ns []int
	for _, p := range parts {
		out.Parts = append(out.Parts, p.Parts...)
		if !slices.Contains(ns, p.N) && (len(p.Runs) > 0 || len(ns) == 0) {
			ns = append(ns, p.N)
		}
		for _, d := range p.Daemons {
			i := slices.IndexFunc(out.Daemons, func(o DaemonInfo) bool { return o.Key == d.Key })
			switch {
			case i < 0:
				out.Daemons = append(out.Daemons, d)
			case out.Daemons[i].Skipped != "" && d.Skipped == "":
				out.Daemons[i] = d
			}
		}
		for _, s := range p.Settings {
			i := slices.IndexFunc(out.Settings, func(o SettingsSet) bool { return o.Name == s.Name })
			if i < 0 {
				out.Settings = append(out.Settings, SettingsSet{Name: s.Name, Timing: map[string]Timing{}})
				i = len(out.Settings) - 1
			}
			for k, t := range s.Timing {
				if o, ok := out.Settings[i].Timing[k]; ok && o != t {
					return nil, fmt.Errorf("settings %s: %s is %s in one part and %s in another", s.Name, k, o, t)
				}
				out.Settings[i].Timing[k] = t
			}
		}
		for _, sc := range p.Scenarios {
			if !slices.Contains(out.Scenarios, sc) {
				out.Scenarios = append(out.Scenarios, sc)
			}
		}
		out.Runs = append(out.Runs, p.Runs...)
		out.Idle = append(out.Idle, p.Idle...)
		out.Limits = append(out.Limits, p.Limits...)
		out.Search = append(out.Search, p.Search...)
		if len(p.SearchBeside) > 0 {
			out.SearchBeside = p.SearchBeside
		}
		out.Notes = append(out.Notes, p.Notes...)
		if out.SearchStep == 0 {
			out.SearchStep = p.SearchStep
		}
	}
	slices.SortStableFunc(out.Scenarios, func(a, b string) int { return scenarioRank(a) - scenarioRank(b) })
	out.N = slices.Max(ns)
	if len(ns) > 1 {
		out.Notes = append(out.Notes, fmt.Sprintf("the parts ran with different N: %v; the header gives the largest", ns))
	}
	return out, nil
}

// scenarioRank orders scenarios as Scenarios lists them, others last.
func scenarioRank(sc string) int {
	if i := slices.Index(Scenarios, sc); i >= 0 {
		return i
	}
	return len(Scenarios)
}
