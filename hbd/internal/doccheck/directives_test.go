package doccheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// root is the repository's top directory, seen from this package.
const root = "../../.."

func readRepoFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkDirectiveDocs holds docs/config.md and ha.cf(5) against the
// parser: every directive it knows is documented, in the right list (acted
// on, or read but ignored), and nothing it does not know is documented.
func checkDirectiveDocs(parser, ignored []string, configMD, hacf5 string) []string {
	var problems []string
	cmA, cmI := ConfigMDDirectives(configMD)
	mA, mI := HaCf5Directives(hacf5)
	for _, doc := range []struct {
		name            string
		acted, ignoring []string
	}{
		{"docs/config.md", cmA, cmI},
		{"docs/man/ha.cf.5", mA, mI},
	} {
		for _, d := range parser {
			isIgnored := slices.Contains(ignored, d)
			inActed, inIgnored := slices.Contains(doc.acted, d), slices.Contains(doc.ignoring, d)
			switch {
			case !isIgnored && inIgnored:
				problems = append(problems, fmt.Sprintf("%s documents %s as ignored, but hbd acts on it", doc.name, d))
			case isIgnored && inActed:
				problems = append(problems, fmt.Sprintf("%s documents %s among the directives hbd acts on, but hbd ignores it", doc.name, d))
			case !isIgnored && !inActed:
				problems = append(problems, fmt.Sprintf("%s does not document %s among the directives hbd acts on", doc.name, d))
			case isIgnored && !inIgnored:
				problems = append(problems, fmt.Sprintf("%s does not list %s among the ignored directives", doc.name, d))
			}
		}
		for _, d := range append(slices.Clone(doc.acted), doc.ignoring...) {
			if !slices.Contains(parser, d) {
				problems = append(problems, fmt.Sprintf("%s documents %s, which the ha.cf parser does not know", doc.name, d))
			}
		}
	}
	return problems
}

func TestDirectivesDocumented(t *testing.T) {
	parser, ignored := config.Directives(), config.IgnoredDirectives()
	if len(parser) < 50 || len(ignored) < 10 {
		t.Fatalf("the parser lists %d directives, %d ignored: too few to be the real lists", len(parser), len(ignored))
	}
	for _, p := range checkDirectiveDocs(parser, ignored, readRepoFile(t, "docs/config.md"), readRepoFile(t, "docs/man/ha.cf.5")) {
		t.Error(p)
	}
}

// TestCheckDirectiveDocsFails: each kind of drift is caught.
func TestCheckDirectiveDocsFails(t *testing.T) {
	md := func(acted, ignored string) string {
		return "## ha.cf\n### " + ActsOnHeading + "\n\n| directive | default | meaning |\n| --- | --- | --- |\n" + acted +
			"\n### " + IgnoredHeading + "\n\n| directive | default | why |\n| --- | --- | --- |\n" + ignored + "\n## authkeys\n"
	}
	man := func(acted, ignored string) string {
		return ".SH DIRECTIVES\n" + acted + ".SS " + ManIgnored + "\nThese are read, then a warning says that\n.B hbd\ndoes not act on them:\n" + ignored + ".SH EXAMPLE\n"
	}
	goodMD := md("| `keepalive T` | 2s | x |\n| `ping IP...`, `ping6 IP6...` | — | x |", "| `hbaping DEV` | — | x |")
	goodMan := man(".TP\n.BI \"keepalive \" T\nx\n.TP\n.BI \"ping \" IP\\fR...\\fP \", ping6 \" IP6\\fR...\nx\n", ".BR hbaping\n(no fibre channel).\nValues get no warning.\n")
	parser := []string{"hbaping", "keepalive", "ping", "ping6"}
	ignored := []string{"hbaping"}
	tests := []struct {
		name     string
		parser   []string
		ignored  []string
		md, man  string
		problems []string
	}{
		{"in step", parser, ignored, goodMD, goodMan, nil},
		{"missing from config.md", append(parser, "deadtime"), ignored, goodMD, goodMan + ".TP\n.BI \"deadtime \" T\nx\n",
			[]string{"docs/config.md does not document deadtime among the directives hbd acts on"}},
		{"missing from ha.cf.5", parser, ignored, goodMD, man(".TP\n.BI \"keepalive \" T\nx\n", ".BR hbaping .\n"),
			[]string{"ha.cf.5 does not document ping among", "ha.cf.5 does not document ping6 among"}},
		{"ignored but acted on", parser, ignored, md("| `keepalive T` | 2s | x |", "| `hbaping DEV` | — | x |\n| `ping IP...` | — | x |\n| `ping6 IP6` | — | x |"), goodMan,
			[]string{"docs/config.md documents ping as ignored, but hbd acts on it", "docs/config.md documents ping6 as ignored"}},
		{"acted on but ignored", parser, []string{"hbaping", "ping"}, goodMD, goodMan,
			[]string{"docs/config.md documents ping among the directives hbd acts on, but hbd ignores it", "ha.cf.5 documents ping among"}},
		{"ignored list incomplete", append(parser, "serial"), []string{"hbaping", "serial"}, goodMD, goodMan,
			[]string{"docs/config.md does not list serial among the ignored", "ha.cf.5 does not list serial among the ignored"}},
		{"unknown directive documented", []string{"hbaping", "keepalive", "ping"}, ignored, goodMD, goodMan,
			[]string{"docs/config.md documents ping6, which the ha.cf parser does not know", "ha.cf.5 documents ping6, which"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkDirectiveDocs(tt.parser, tt.ignored, tt.md, tt.man)
			wantProblems(t, got, tt.problems)
		})
	}
}

// wantProblems asserts that each wanted piece is in one of the problems,
// and that there are problems exactly when some are wanted.
func wantProblems(t *testing.T, got, want []string) {
	t.Helper()
	if len(want) == 0 && len(got) > 0 {
		t.Errorf("unexpected problems:\n%s", strings.Join(got, "\n"))
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			if strings.Contains(g, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem contains %q; got:\n%s", w, strings.Join(got, "\n"))
		}
	}
}

// codeDefault is a default the code applies, and where the docs state it:
// in the directive's row of config.md's table (or the monitor table's row
// of a setting) and in its ha.cf(5) paragraph, as the number after
// prefix ("" in config.md: the cell starts with it; "Default " in the man
// page).
type codeDefault struct {
	directive string
	setting   string // a monitor setting ("interval"), or ""
	prefix    string // the words before the value, when not the usual ones
	value     any    // time.Duration or int
}

func codeDefaults() []codeDefault {
	return []codeDefault{
		{directive: "keepalive", value: config.DefaultKeepalive},
		{directive: "deadtime", value: config.DefaultDeadtime},
		{directive: "initdead", prefix: "at least ", value: config.MinInitdead},
		{directive: "udpport", value: config.DefaultUDPPort},
		{directive: "resource_timeout", value: config.DefaultResourceTimeout},
		{directive: "failback_delay", value: config.DefaultFailbackDelay},
		{directive: "drain_time", value: config.DefaultDrainTime},
		{directive: "hopfudge", value: config.DefaultHopfudge},
		{directive: "fence_timeout", value: config.DefaultFenceTimeout},
		{directive: "fence_retry", value: config.DefaultFenceRetry},
		{directive: "safe_start_delay", value: config.DefaultSafeStartDelay},
		{directive: "monitor", setting: "interval", value: config.DefaultMonitorInterval},
		{directive: "monitor", setting: "timeout", value: config.DefaultMonitorTimeout},
		{directive: "monitor", setting: "restarts", value: config.DefaultMonitorRestarts},
		{directive: "monitor", setting: "window", value: config.DefaultMonitorWindow},
	}
}

const number = `(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|seconds?|minutes?|hours?)?\b`

// docValue reads "2s", "2 seconds", "10m", "694" as the code's type.
func docValue(num, unit string, like any) (any, error) {
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return nil, err
	}
	if _, ok := like.(int); ok {
		if unit != "" {
			return nil, fmt.Errorf("%s%s has a unit, the code's default is a plain number", num, unit)
		}
		return int(v), nil
	}
	scale := map[string]time.Duration{"": time.Second, "s": time.Second, "second": time.Second, "seconds": time.Second,
		"ms": time.Millisecond, "m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
		"h": time.Hour, "hour": time.Hour, "hours": time.Hour}[unit]
	return time.Duration(v * float64(scale)), nil
}

// checkDefaults compares the defaults the docs state with the code's.
func checkDefaults(configMD, hacf5 string, defaults []codeDefault) []string {
	var problems []string
	for _, d := range defaults {
		name := d.directive
		if d.setting != "" {
			name += " " + d.setting + "="
		}
		// docs/config.md
		var cell string
		var ok bool
		if d.setting == "" {
			cell, ok = ConfigMDDefault(configMD, d.directive)
		} else {
			for _, row := range TableRows(Section(configMD, "Resource monitoring")) {
				if spans := CodeSpans(row[0]); len(row) > 1 && len(spans) > 0 && strings.HasPrefix(spans[0], d.setting+"=") {
					cell, ok = row[1], true
				}
			}
		}
		if !ok {
			problems = append(problems, fmt.Sprintf("docs/config.md: no default documented for %s", name))
		} else {
			prefix := "^"
			if d.prefix != "" {
				prefix = regexp.QuoteMeta(d.prefix)
			}
			problems = append(problems, compareDefault("docs/config.md", name, cell, prefix, d.value)...)
		}
		// ha.cf(5)
		para, ok := HaCf5Paragraph(hacf5, d.directive)
		if !ok {
			problems = append(problems, fmt.Sprintf("docs/man/ha.cf.5: no paragraph documents %s", d.directive))
			continue
		}
		prefix := `Default `
		switch {
		case d.setting != "":
			prefix = `\b` + d.setting + ` `
		case d.prefix != "":
			prefix = regexp.QuoteMeta(d.prefix)
		}
		problems = append(problems, compareDefault("docs/man/ha.cf.5", name, para, prefix, d.value)...)
	}
	return problems
}

func compareDefault(doc, name, text, prefix string, want any) []string {
	m := regexp.MustCompile(prefix + number).FindStringSubmatch(text)
	if m == nil {
		return []string{fmt.Sprintf("%s: the default of %s is not stated as %q followed by a value in %q", doc, name, prefix, text)}
	}
	got, err := docValue(m[1], m[2], want)
	if err != nil {
		return []string{fmt.Sprintf("%s: default of %s: %v", doc, name, err)}
	}
	if got != want {
		return []string{fmt.Sprintf("%s says the default of %s is %s%s; the code's is %v", doc, name, m[1], m[2], want)}
	}
	return nil
}

func TestDefaultsDocumented(t *testing.T) {
	for _, p := range checkDefaults(readRepoFile(t, "docs/config.md"), readRepoFile(t, "docs/man/ha.cf.5"), codeDefaults()) {
		t.Error(p)
	}
}

// TestCheckDefaultsFails: a wrong, missing or unparsable default is caught.
func TestCheckDefaultsFails(t *testing.T) {
	md := "### " + ActsOnHeading + "\n\n| directive | default | meaning |\n| --- | --- | --- |\n| `keepalive T` | %s | x |\n| `initdead T` | 2 × deadtime, at least %s | x |\n" +
		"\n### Resource monitoring\n\n| setting | default | meaning |\n| --- | --- | --- |\n| `interval=T` | %s | x |\n"
	man := ".SH DIRECTIVES\n.TP\n.BI \"keepalive \" T\nHow often.\nDefault %s.\n.TP\n.BI \"initdead \" T\nDefault twice deadtime, at least %s.\n.TP\n.BI \"monitor \" RESOURCE\nDefaults: interval %s, op auto.\n"
	defaults := []codeDefault{
		{directive: "keepalive", value: 2 * time.Second},
		{directive: "initdead", prefix: "at least ", value: 12 * time.Second},
		{directive: "monitor", setting: "interval", value: 10 * time.Second},
	}
	tests := []struct {
		name     string
		md, man  string
		problems []string
	}{
		{"in step", fmt.Sprintf(md, "2s", "12s", "10s"), fmt.Sprintf(man, "2 seconds", "12 seconds", "10 seconds"), nil},
		{"other units", fmt.Sprintf(md, "2000ms", "12", "10s"), fmt.Sprintf(man, "2 seconds", "12 seconds", "10 seconds"), nil},
		{"config.md wrong", fmt.Sprintf(md, "3s", "12s", "10s"), fmt.Sprintf(man, "2 seconds", "12 seconds", "10 seconds"),
			[]string{"docs/config.md says the default of keepalive is 3s; the code's is 2s"}},
		{"man wrong", fmt.Sprintf(md, "2s", "12s", "10s"), fmt.Sprintf(man, "2 seconds", "10 seconds", "1 minute"),
			[]string{"ha.cf.5 says the default of initdead is 10seconds", "ha.cf.5 says the default of monitor interval= is 1minute"}},
		{"missing", fmt.Sprintf(md, "—", "12s", "10s"), ".SH DIRECTIVES\n",
			[]string{"docs/config.md: the default of keepalive is not stated", "ha.cf.5: no paragraph documents keepalive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblems(t, checkDefaults(tt.md, tt.man, defaults), tt.problems)
		})
	}
}
