package doccheck

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/config"
)

// checkAuthMethods holds authkeys(5)'s METHODS section against the
// methods the authkeys parser knows, both ways.
func checkAuthMethods(known []string, authkeys5 string) []string {
	documented := Tags(ManSection(ManLines(authkeys5), "METHODS"))
	var problems []string
	for _, m := range known {
		if !slices.Contains(documented, m) {
			problems = append(problems, fmt.Sprintf("docs/man/authkeys.5: METHODS does not document %s", m))
		}
	}
	for _, m := range documented {
		if !slices.Contains(known, m) {
			problems = append(problems, fmt.Sprintf("docs/man/authkeys.5: METHODS documents %s, which the authkeys parser does not know", m))
		}
	}
	return problems
}

func TestAuthMethodsDocumented(t *testing.T) {
	for _, p := range checkAuthMethods(config.AuthMethods(), readRepoFile(t, "docs/man/authkeys.5")) {
		t.Error(p)
	}
}

func TestCheckAuthMethodsFails(t *testing.T) {
	man := ".SH METHODS\n.TP\n.B sha1\nHMAC.\n.TP\n.B md4\nOld.\n.SH FILES\n"
	wantProblems(t, checkAuthMethods([]string{"sha1"}, man), []string{"documents md4, which the authkeys parser does not know"})
	wantProblems(t, checkAuthMethods([]string{"sha1", "md4", "sha256"}, man), []string{"METHODS does not document sha256"})
}

// serviceFacts are the numbers of init/heartbeat.service and
// init/heartbeat that hbd(8)'s SERVICE section states, each with the
// pattern that finds it in the page (one number group, in the unit the
// file uses once converted: seconds).
var serviceFacts = []struct {
	file, pattern string // where the value is set: a regexp with one number group
	page          string // how hbd(8) states it: a regexp with one number group
	scale         int    // the page's unit in the file's (60: the page says minutes)
}{
	{"init/heartbeat.service", `(?m)^RestartSec=(\d+)s?$`, `restarts hbd (\d+) seconds after a crash`, 1},
	{"init/heartbeat.service", `(?m)^StartLimitBurst=(\d+)$`, `at most (\d+) starts in`, 1},
	{"init/heartbeat.service", `(?m)^StartLimitIntervalSec=(\d+)$`, `starts in (\d+) minutes`, 60},
	{"init/heartbeat.service", `(?m)^TimeoutStopSec=(\d+)min$`, `waits up to (\d+) minutes`, 1},
	{"init/heartbeat", `(?m)^HBD_STOP_TIMEOUT=(\d+)$`, `HBD_STOP_TIMEOUT seconds \((\d+)\)`, 1},
}

// checkServiceFacts compares hbd(8)'s SERVICE section with the service
// files; files maps a path to its text.
func checkServiceFacts(hbd8 string, files map[string]string) []string {
	page := Text(ManSection(ManLines(hbd8), "SERVICE"))
	var problems []string
	for _, f := range serviceFacts {
		set := regexp.MustCompile(f.pattern).FindStringSubmatch(files[f.file])
		said := regexp.MustCompile(f.page).FindStringSubmatch(page)
		switch {
		case set == nil || set[1] == "":
			problems = append(problems, fmt.Sprintf("%s: no line matches %s", f.file, f.pattern))
		case said == nil:
			problems = append(problems, fmt.Sprintf("hbd.8 SERVICE does not say %q", f.page))
		default:
			v, _ := strconv.Atoi(set[1])
			p, _ := strconv.Atoi(said[1])
			if p*f.scale != v {
				problems = append(problems, fmt.Sprintf("hbd.8 SERVICE says %q where %s sets %s", said[0], f.file, set[0]))
			}
		}
	}
	return problems
}

func TestServiceFactsDocumented(t *testing.T) {
	files := map[string]string{}
	for _, f := range serviceFacts {
		files[f.file] = readRepoFile(t, f.file)
	}
	for _, p := range checkServiceFacts(readRepoFile(t, "docs/man/hbd.8"), files) {
		t.Error(p)
	}
}

func TestCheckServiceFactsFails(t *testing.T) {
	page := ".SH SERVICE\nrestarts\n.B hbd\n2 seconds after a crash (at most 5 starts in 2 minutes), waits up to 10 minutes;\n.B HBD_STOP_TIMEOUT\nseconds (600).\n.SH FILES\n"
	unit := "RestartSec=2s\nStartLimitBurst=5\nStartLimitIntervalSec=120\nTimeoutStopSec=10min\n"
	files := map[string]string{"init/heartbeat.service": unit, "init/heartbeat": "HBD_STOP_TIMEOUT=600\n"}
	wantProblems(t, checkServiceFacts(page, files), nil)
	files["init/heartbeat.service"] = strings.Replace(unit, "RestartSec=2s", "RestartSec=5s", 1)
	wantProblems(t, checkServiceFacts(page, files), []string{`says "restarts hbd 2 seconds after a crash" where init/heartbeat.service sets RestartSec=5s`})
	files["init/heartbeat.service"] = unit
	files["init/heartbeat"] = "HBD_STOP_TIMEOUT=300\n"
	wantProblems(t, checkServiceFacts(strings.Replace(page, "(600)", "", 1), files), []string{`does not say "HBD_STOP_TIMEOUT seconds`})
}

// manExample returns the text between .nf and .fi in a man page's
// section, unescaped.
func manExample(roff, section string) string {
	var b strings.Builder
	in := false
	for _, l := range ManSection(ManLines(roff), section) {
		switch {
		case l.Request == ".nf":
			in = true
		case l.Request == ".fi":
			in = false
		case in:
			b.WriteString(l.Text + "\n")
		}
	}
	return b.String()
}

// checkHaCfExample parses ha.cf(5)'s EXAMPLE: no error, no warning.
func checkHaCfExample(hacf5 string) []string {
	ex := manExample(hacf5, "EXAMPLE")
	if strings.TrimSpace(ex) == "" {
		return []string{"docs/man/ha.cf.5 has no EXAMPLE between .nf and .fi"}
	}
	var problems []string
	_, diags := config.ParseHaCf("ha.cf", strings.NewReader(ex))
	for _, d := range diags {
		problems = append(problems, "docs/man/ha.cf.5 EXAMPLE: "+d.String())
	}
	return problems
}

func TestHaCfExample(t *testing.T) {
	for _, p := range checkHaCfExample(readRepoFile(t, "docs/man/ha.cf.5")) {
		t.Error(p)
	}
}

func TestCheckHaCfExampleFails(t *testing.T) {
	ex := ".SH EXAMPLE\n.nf\nkeepalive 1\ndeadtime 5\nucast eth0 10.0.0.11\nauto_failback on\nnode node1 node2\n%s.fi\n.SH FILES\n"
	wantProblems(t, checkHaCfExample(fmt.Sprintf(ex, "")), nil)
	wantProblems(t, checkHaCfExample(fmt.Sprintf(ex, "keepalived 2\n")), []string{`EXAMPLE: ha.cf:6: unknown directive "keepalived"`})
	wantProblems(t, checkHaCfExample(".SH EXAMPLE\nnone\n"), []string{"has no EXAMPLE"})
}
