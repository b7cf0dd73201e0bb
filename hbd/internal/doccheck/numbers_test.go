package doccheck

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The README's failover figures: "(40 ms without service after a machine
// death with hbd (built-in IPaddr2) at keepalive 10 ms / deadtime 40 ms,
// in the benchmark run of 2026-12-06 14:46 UTC, N = 5, where keepalived
// 2.2.7 (built-in VIP) at advert_int 0.01 took 41 ms; and no failed
// request on a graceful stop, a failback ...: see ...)". A daemon is a row
// label of the benchmark's tables ("hbd" when the README names none).
var (
	readmeFigure = regexp.MustCompile(`\((\d+) ms without service after a machine death (?:with (hbd(?: \([^)]*\))?) )?at (keepalive [^,]+?), in the benchmark run of ([\d-]+ [\d:]+ UTC)`)
	// readmeOther is the other daemon's figure in the same run.
	readmeOther = regexp.MustCompile(`where (keepalived [\d.]+(?: \([^)]*\))?) at (advert_int [\d.]+) took (\d+) ms`)
	// readmeNoneFailed lists the scenarios the README says failed no
	// request for the hbd row of its figure.
	readmeNoneFailed = regexp.MustCompile(`no failed request on (.+?): see`)
	listSep          = regexp.MustCompile(`, | or `)
)

// scenarioColumns maps the README's words for a scenario to its column
// in the benchmark's tables.
var scenarioColumns = map[string]string{
	"a graceful stop":                     "graceful stop",
	"a failback":                          "failback",
	"a standby":                           "standby",
	"a takeover command":                  "takeover command",
	"a healed partition":                  "partition heals",
	"a kill -9 and restart of the daemon": "kill -9 + restart",
	"a machine death":                     "link cut (machine dies)",
}

// benchCell is the cell of a table of docs/benchmarks.md (the one under
// heading) in the first row of daemon at settings, in column.
func benchCell(benchmarks, heading, daemon, settings, column string) (string, error) {
	section := Section(benchmarks, heading)
	col := -1
	for _, l := range strings.Split(section, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "|") {
			col = slices.Index(splitRow(l), column)
			break
		}
	}
	if col < 0 {
		return "", fmt.Errorf("docs/benchmarks.md's %q table has no column %q", heading, column)
	}
	for _, row := range TableRows(section) {
		if len(row) > col && row[0] == daemon && row[1] == settings {
			return row[col], nil
		}
	}
	return "", fmt.Errorf("docs/benchmarks.md has no %s row at %s in its %q table", daemon, settings, heading)
}

// checkReadmeFigure holds the README's failover figures against
// docs/benchmarks.md: the run it names is the one the page reports (the
// latest), the figures are that run's median unavailability after a link
// cut of those rows at those settings, and the scenarios it says failed
// no request failed none in any run of the hbd row.
func checkReadmeFigure(readme, benchmarks string) []string {
	text := strings.Join(strings.Fields(readme), " ")
	m := readmeFigure.FindStringSubmatch(text)
	if m == nil {
		return []string{"README.md: no failover figure of the form \"(N ms without service after a machine death at keepalive …, in the benchmark run of DATE UTC\""}
	}
	figure, daemon, settings, run := m[1], m[2], m[3], m[4]
	if daemon == "" {
		daemon = "hbd"
	}
	if !strings.Contains(benchmarks, "## Results of "+run+"\n") {
		return []string{fmt.Sprintf("README.md cites the benchmark run of %s; docs/benchmarks.md reports another run", run)}
	}
	const unavailable, failed = "Unavailability, ms (median / max)", "Failed requests, median / max"
	var problems []string
	median := func(daemon, settings, figure string) {
		cell, err := benchCell(benchmarks, unavailable, daemon, settings, "link cut (machine dies)")
		if err != nil {
			problems = append(problems, err.Error())
			return
		}
		if got, _, _ := strings.Cut(cell, " / "); got != figure {
			problems = append(problems, fmt.Sprintf("README.md says %s ms for %s at %s; the run of %s measured %s ms", figure, daemon, settings, run, got))
		}
	}
	median(daemon, settings, figure)
	if o := readmeOther.FindStringSubmatch(text); o != nil {
		median(o[1], o[2], o[3])
	} else {
		problems = append(problems, "README.md: no figure of keepalived's of the form \"where keepalived VERSION (…) at advert_int N took N ms\" beside hbd's")
	}
	if n := readmeNoneFailed.FindStringSubmatch(text); n == nil {
		problems = append(problems, "README.md: no list of the scenarios hbd's run failed no request in (\"no failed request on …: see\")")
	} else {
		for _, words := range listSep.Split(n[1], -1) {
			column, ok := scenarioColumns[words]
			if !ok {
				problems = append(problems, fmt.Sprintf("README.md says no request failed on %q: no such scenario in docs/benchmarks.md", words))
				continue
			}
			cell, err := benchCell(benchmarks, failed, daemon, settings, column)
			switch {
			case err != nil:
				problems = append(problems, err.Error())
			case cell != "0 / 0":
				problems = append(problems, fmt.Sprintf("README.md says no request failed on %s for %s at %s; the run of %s has %s (median / max)", words, daemon, settings, run, cell))
			}
		}
	}
	return problems
}

func TestReadmeFigure(t *testing.T) {
	for _, p := range checkReadmeFigure(readRepoFile(t, "README.md"), readRepoFile(t, "docs/benchmarks.md")) {
		t.Error(p)
	}
}

func TestCheckReadmeFigureFails(t *testing.T) {
	const rest = ", where keepalived 2.2.7 (built-in VIP) at advert_int 0.01 took 41 ms; and no failed request on a graceful stop: see the page)"
	readme := "fast (%s ms without service after a machine death at keepalive 10 ms / deadtime 40 ms, in the benchmark run of %s, N = 1" + rest
	bench := "## Results of 2026-11-22 06:19 UTC\n\n### Unavailability, ms (median / max)\n\n| daemon | settings | link cut (machine dies) |\n| --- | --- | --- |\n" +
		"| keepalived 2.2.7 (built-in VIP) | advert_int 0.01 | 41 / 42 |\n" +
		"| hbd | keepalive 1 s / deadtime 3 s | 2963 / 2963 |\n| hbd | keepalive 10 ms / deadtime 40 ms | 61 / 61 |\n" +
		"| hbd (built-in IPaddr2) | keepalive 10 ms / deadtime 40 ms | 40 / 41 |\n\n" +
		"### Failed requests, median / max\n\n| daemon | settings | link cut (machine dies) | graceful stop | failback |\n| --- | --- | --- | --- | --- |\n" +
		"| hbd | keepalive 10 ms / deadtime 40 ms | 3 / 4 | 0 / 0 | 2 / 2 |\n" +
		"| hbd (built-in IPaddr2) | keepalive 10 ms / deadtime 40 ms | 2 / 2 | 0 / 0 | 0 / 1 |\n\n### Switch time\n"
	tests := []struct {
		name, figure, run string
		problems          []string
	}{
		{"in step", "61", "2026-11-22 06:19 UTC", nil},
		{"other figure", "45", "2026-11-22 06:19 UTC", []string{"README.md says 45 ms for hbd at keepalive 10 ms / deadtime 40 ms; the run of 2026-11-22 06:19 UTC measured 61 ms"}},
		{"older run", "61", "2026-11-21 10:00 UTC", []string{"cites the benchmark run of 2026-11-21 10:00 UTC; docs/benchmarks.md reports another run"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblems(t, checkReadmeFigure(fmt.Sprintf(readme, tt.figure, tt.run), bench), tt.problems)
		})
	}
	labelled := "fast (%s ms without service after a machine death with hbd (built-in IPaddr2) at keepalive 10 ms / deadtime 40 ms, in the benchmark run of 2026-11-22 06:19 UTC, N = 5"
	wantProblems(t, checkReadmeFigure(fmt.Sprintf(labelled, "40")+rest, bench), nil)
	wantProblems(t, checkReadmeFigure(fmt.Sprintf(labelled, "61")+rest, bench), []string{"README.md says 61 ms for hbd (built-in IPaddr2) at keepalive 10 ms / deadtime 40 ms; the run of 2026-11-22 06:19 UTC measured 40 ms"})
	wantProblems(t, checkReadmeFigure("failover in well under a second", bench), []string{"no failover figure"})
	wantProblems(t, checkReadmeFigure(fmt.Sprintf(labelled, "40")+")", bench), []string{"no figure of keepalived's", "no list of the scenarios"})

	// The other daemon's figure, and the scenarios said to fail no request.
	for _, tt := range []struct {
		name, other, none string
		problems          []string
	}{
		{"in step", "41", "a graceful stop", nil},
		{"other daemon's figure", "39", "a graceful stop", []string{"README.md says 39 ms for keepalived 2.2.7 (built-in VIP) at advert_int 0.01; the run of 2026-11-22 06:19 UTC measured 41 ms"}},
		{"a failed request", "41", "a graceful stop or a failback", []string{"README.md says no request failed on a failback for hbd (built-in IPaddr2) at keepalive 10 ms / deadtime 40 ms; the run of 2026-11-22 06:19 UTC has 0 / 1"}},
		{"a scenario not measured", "41", "a graceful stop, a reboot", []string{`no request failed on "a reboot": no such scenario`}},
		{"a column the table lacks", "41", "a standby", []string{`table has no column "standby"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			readme := fmt.Sprintf(labelled, "40") + ", where keepalived 2.2.7 (built-in VIP) at advert_int 0.01 took " + tt.other +
				" ms; and no failed request on " + tt.none + ": see [the page](docs/benchmarks.md))"
			wantProblems(t, checkReadmeFigure(readme, bench), tt.problems)
		})
	}
}
