//go:build linux

package bench

import (
	"fmt"
	"strings"
	"time"
)

// IdleWindowsMarkdown renders concurrent idle windows: one table a
// window, then each node's CPU window by window beside the pair labelled
// ref (keepalived's, node1 its master), as a difference in points of a
// CPU and as a ratio, which compare pairs measured over the same time.
func IdleWindowsMarkdown(ws []IdleWindow, ref string) string {
	var b strings.Builder
	for k, w := range ws {
		fmt.Fprintf(&b, "### Window %d: %s UTC, %s, rotation %d, load %s → %s, steal %.1f %%, busy %.1f %% of the machine\n\n",
			k+1, w.Started.UTC().Format("2006-01-02 15:04:05"), w.Window.Round(time.Second), w.Rotation,
			load1(w.LoadStart), load1(w.LoadEnd), w.Steal, w.Busy)
		b.WriteString("| pair | rig | node1 CPU | node2 CPU | timeslices/s node1 / node2 | frames/s | RSS node1 / node2 |\n| --- | --- | --- | --- | --- | --- | --- |\n")
		for _, p := range w.Pairs {
			if p.Err != "" {
				rig := "—"
				if p.Rig >= 0 {
					rig = fmt.Sprint(p.Rig)
				}
				fmt.Fprintf(&b, "| %s | %s | failed: %s | | | | |\n", p.Label, rig, cellText(p.Err))
				continue
			}
			fmt.Fprintf(&b, "| %s | %d | %.4f %% | %.4f %% | %.2f / %.2f | %.1f | %.1f / %.1f MB |\n",
				p.Label, p.Rig, p.Nodes[0].CPUPercent, p.Nodes[1].CPUPercent,
				p.Nodes[0].SlicesPerSec, p.Nodes[1].SlicesPerSec, p.FramesPerSec,
				float64(p.Nodes[0].RSSKB)/1024, float64(p.Nodes[1].RSSKB)/1024)
		}
		b.WriteString("\n")
	}
	for i, node := range []string{"node1 (the holder; keepalived's master)", "node2"} {
		fmt.Fprintf(&b, "### %s, window by window\n\n", node)
		b.WriteString("| pair |")
		for k := range ws {
			fmt.Fprintf(&b, " window %d |", k+1)
		}
		b.WriteString("\n| --- |" + strings.Repeat(" --- |", len(ws)) + "\n")
		for _, label := range pairLabels(ws) {
			fmt.Fprintf(&b, "| %s |", label)
			for _, w := range ws {
				b.WriteString(" " + idleCell(w, label, ref, i) + " |")
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	if ref != "" {
		fmt.Fprintf(&b, "Each cell: CPU in %% of one CPU over the window; beside it, the difference from %s's node of the same number in the same window, in points, and the ratio to it.\n", ref)
	}
	return b.String()
}

// idleCell is pair label's node i in window w, with its difference from
// and ratio to ref's node i in the same window.
func idleCell(w IdleWindow, label, ref string, i int) string {
	p, ok := w.pair(label)
	if !ok {
		return "—"
	}
	if p.Err != "" {
		return "failed"
	}
	v := p.Nodes[i].CPUPercent
	s := fmt.Sprintf("%.4f %%", v)
	if r, ok := w.pair(ref); ok && label != ref && r.Err == "" && r.Nodes[i].CPUPercent > 0 {
		rv := r.Nodes[i].CPUPercent
		s += fmt.Sprintf(" (%+.4f, ×%.2f)", v-rv, v/rv)
	}
	return s
}

func (w IdleWindow) pair(label string) (PairIdle, bool) {
	for _, p := range w.Pairs {
		if p.Label == label {
			return p, true
		}
	}
	return PairIdle{}, false
}

// pairLabels lists every label in the windows, in the order first seen.
func pairLabels(ws []IdleWindow) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range ws {
		for _, p := range w.Pairs {
			if !seen[p.Label] {
				seen[p.Label] = true
				out = append(out, p.Label)
			}
		}
	}
	return out
}

// load1 is the first field of a load average ("0.52 0.40 0.31" → "0.52").
func load1(load string) string {
	if f := strings.Fields(load); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// cellText is an error on one line, at most 200 bytes of it, for a table
// cell.
func cellText(s string) string {
	return strings.ReplaceAll(clip(oneLine(s), 200), "|", "/")
}
