//go:build linux

package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// notesSection renders the runs' notes summed up per cell, scenario by
// scenario, then the report's own notes. A cell's failed requests are
// grouped by cause and error, its commands' return times and failback
// quiet windows summed; any other note is given once with the runs that
// wrote it.
func (rep *Report) notesSection(w func(string, ...any)) {
	var cells []string
	for _, s := range rep.Settings {
		for _, sc := range rep.Scenarios {
			var lines []string
			for _, d := range rep.ran() {
				if _, ok := s.Timing[d.Key]; !ok {
					continue
				}
				items := cellNotes(rep.runsOf(d.Key, s.Name, sc))
				switch len(items) {
				case 0:
				case 1:
					lines = append(lines, fmt.Sprintf("- %s: %s", d.Label, items[0]))
				default:
					lines = append(lines, "- "+d.Label+":")
					for _, it := range items {
						lines = append(lines, "  - "+it)
					}
				}
			}
			if len(lines) > 0 {
				cells = append(cells, fmt.Sprintf("**%s, %s settings**\n\n%s\n", ScenarioTitle[sc], s.Name, strings.Join(lines, "\n")))
			}
		}
	}
	if len(cells) == 0 && len(rep.Notes) == 0 {
		return
	}
	w("### Notes from the runs")
	w("")
	w("By cell, what the runs noted beyond the tables above; every note of every run as it was written is in docs/benchmarks.json. **Failed requests noted**: each failed request of the runs with at most %d (a run with more counts them only in \"Failed requests by what they met\"), grouped by cause and by how it failed (the end of its error): how many, how many ms each took to fail, how many ms after the action (after the heal, for a partition) each was sent, and in which runs. **Windows**: the windows without service of a run that had more than one, each as when it began after the action, the node answering before → after it, and how long it lasted.", noteRequestsMax)
	w("")
	for _, c := range cells {
		w("%s", c)
	}
	if len(rep.Notes) > 0 {
		w("**The run as a whole**")
		w("")
		for _, n := range rep.Notes {
			w("- %s", n)
		}
		w("")
	}
}

// cellNotes sums up the notes of one cell's runs, one item each: the
// failed requests by cause and error, each command's return times, the
// failbacks' quiet windows, then every other note once, with its runs.
func cellNotes(runs []Run) []string {
	var reqs []noted[requestNote]
	var cmds []noted[commandNote]
	var ctls []noted[controlNote]
	var rest []noted[string]
	for _, r := range runs {
		if r.Err != "" {
			rest = append(rest, noted[string]{r.Index, "failed: " + clip(oneLine(r.Err), 240)})
		}
		for _, n := range r.Notes {
			if q, ok := parseRequestNote(n); ok {
				reqs = append(reqs, noted[requestNote]{r.Index, q})
			} else if c, ok := parseCommandNote(n); ok {
				cmds = append(cmds, noted[commandNote]{r.Index, c})
			} else if c, ok := parseControlNote(n); ok {
				ctls = append(ctls, noted[controlNote]{r.Index, c})
			} else {
				rest = append(rest, noted[string]{r.Index, oneLine(n)})
			}
		}
	}
	var items []string
	if len(reqs) > 0 {
		items = append(items, requestItem(reqs))
	}
	items = append(items, commandItems(cmds)...)
	items = append(items, controlItems(ctls)...)
	return append(items, sameNotes(rest)...)
}

// noted is a note of the run with index Run.
type noted[T any] struct {
	Run  int
	Note T
}

// requestItem groups failed requests by cause (in netlab.Causes' order)
// and how they failed: "9 failed requests noted: dark 1 (…); moved 8
// (i/o timeout after 200.3–200.7 ms, sent +3.0–28.0 ms, runs 1–5)".
func requestItem(reqs []noted[requestNote]) string {
	type key struct {
		cause netlab.Cause
		how   string
	}
	var keys []key
	groups := map[key][]noted[requestNote]{}
	for _, q := range reqs {
		k := key{q.Note.Cause, q.Note.how()}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], q)
	}
	slices.SortStableFunc(keys, func(a, b key) int {
		return slices.Index(netlab.Causes, a.cause) - slices.Index(netlab.Causes, b.cause)
	})
	var parts []string
	for _, k := range keys {
		g := groups[k]
		var sent, took []float64
		var runs []int
		for _, q := range g {
			sent, took = append(sent, q.Note.Sent), append(took, q.Note.Took)
			runs = append(runs, q.Run)
		}
		parts = append(parts, fmt.Sprintf("%s %d (%s after %s ms, sent +%s ms, %s)", k.cause, len(g), k.how, span(took), span(sent), runList(runs)))
	}
	return fmt.Sprintf("%d failed requests noted: %s", len(reqs), strings.Join(parts, "; "))
}

// span renders the smallest and largest of xs, ms to a tenth: "200.3–200.7",
// or one figure when they are equal.
func span(xs []float64) string {
	lo, hi := slices.Min(xs), slices.Max(xs)
	if lo == hi {
		return strconv.FormatFloat(lo, 'f', 1, 64)
	}
	return strconv.FormatFloat(lo, 'f', 1, 64) + "–" + strconv.FormatFloat(hi, 'f', 1, 64)
}

// commandItems gives, per command, its return times over the runs:
// "the stop command returned after 17 / 22 / 33 ms (min / median / max,
// runs 1–5)".
func commandItems(cmds []noted[commandNote]) []string {
	var names []string
	for _, c := range cmds {
		if !slices.Contains(names, c.Note.Command) {
			names = append(names, c.Note.Command)
		}
	}
	var items []string
	for _, name := range names {
		var ds []time.Duration
		var runs []int
		for _, c := range cmds {
			if c.Note.Command == name {
				ds = append(ds, c.Note.Took)
				runs = append(runs, c.Run)
			}
		}
		s := Summarize(ds)
		items = append(items, fmt.Sprintf("the %s command returned after %s / %s / %s ms (min / median / max, %s)", name, ms(slices.Min(ds)), ms(s.Median), ms(s.Max), runList(runs)))
	}
	return items
}

// controlItems sums the failbacks' quiet windows, one item per window
// length: "in the 2s before the start, nothing moving: 0 of 500 requests
// failed (runs 1–5)".
func controlItems(ctls []noted[controlNote]) []string {
	var windows []time.Duration
	for _, c := range ctls {
		if !slices.Contains(windows, c.Note.Window) {
			windows = append(windows, c.Note.Window)
		}
	}
	var items []string
	for _, win := range windows {
		sum := controlNote{Window: win}
		var runs []int
		for _, c := range ctls {
			if c.Note.Window == win {
				sum.Failed += c.Note.Failed
				sum.All += c.Note.All
				runs = append(runs, c.Run)
			}
		}
		items = append(items, fmt.Sprintf("%s (%s)", sum, runList(runs)))
	}
	return items
}

// sameNotes gives each distinct note once, after the runs that wrote it,
// in the order they first appear: "runs 1–5: served at the end by node1".
func sameNotes(ns []noted[string]) []string {
	var texts []string
	runs := map[string][]int{}
	for _, n := range ns {
		if _, ok := runs[n.Note]; !ok {
			texts = append(texts, n.Note)
		}
		runs[n.Note] = append(runs[n.Note], n.Run)
	}
	var items []string
	for _, t := range texts {
		items = append(items, runList(runs[t])+": "+t)
	}
	return items
}

// runList names runs by index, consecutive ones as a range: "run 2",
// "runs 1–3, 5".
func runList(idx []int) string {
	idx = slices.Compact(slices.Sorted(slices.Values(idx)))
	var parts []string
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		switch {
		case j == i:
			parts = append(parts, strconv.Itoa(idx[i]))
		case j == i+1:
			parts = append(parts, strconv.Itoa(idx[i]), strconv.Itoa(idx[j]))
		default:
			parts = append(parts, fmt.Sprintf("%d–%d", idx[i], idx[j]))
		}
		i = j + 1
	}
	if len(idx) == 1 {
		return "run " + parts[0]
	}
	return "runs " + strings.Join(parts, ", ")
}
