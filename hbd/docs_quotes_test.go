package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/internal/doccheck"
	"github.com/hbdproject/hbd/hbd/link"
	"github.com/hbdproject/hbd/hbd/paths"
)

// What the guides quote hbd saying is what it says.

// errorMutations break a copy of the sample the way each row of the
// floating-IP guide's "Common errors" table says, keyed by the row's
// first cell; each returns the node name to check as, or "" when this
// machine cannot show the row.
var errorMutations = map[string]func(t *testing.T, dir string) string{
	"authkeys readable by others": func(t *testing.T, dir string) string {
		chmod(t, filepath.Join(dir, "authkeys"), 0o644)
		return "node1"
	},
	"a typo in a directive":                 edit("ha.cf", "keepalive 1", "keepalived 1"),
	"a resource script that does not exist": edit("haresources", "node1 IPaddr2::10.0.0.100/24/eth0 nginx", "node1 IPaddr2::10.0.0.100/24/eth0 nginx-proxy"),
	"a script that is not executable": func(t *testing.T, dir string) string {
		chmod(t, filepath.Join(dir, "resource.d", "nginx"), 0o644)
		return "node1"
	},
	"this node is not a `node` (host name differs)":    func(*testing.T, string) string { return "web1" },
	"deadtime too small":                               edit("ha.cf", "deadtime 5", "deadtime 2"),
	"a unit Heartbeat does not know":                   edit("ha.cf", "warntime 2", "warntime 2m"),
	"`auth` names a key that is not there":             edit("authkeys", "auth 1", "auth 2"),
	"Pacemaker mode":                                   edit("ha.cf", "crm off", "crm respawn"),
	"the sample's placeholder secret left in authkeys": edit("authkeys", "1 sha1 "+sampleSecret, "1 sha1 "+samplePlaceholder),
	"an interface that does not exist": func(t *testing.T, dir string) string {
		if _, err := net.InterfaceByName("eth1"); err == nil {
			t.Log("this machine has an eth1: the guide's missing-interface row cannot be reproduced here")
			return ""
		}
		editLine(t, dir, "ha.cf", "ucast eth0 10.0.0.11", "ucast eth1 10.0.0.11")
		return "node1"
	},
	"a log directory that does not exist (warning; the log goes to stderr)": func(t *testing.T, dir string) string {
		if _, err := os.Stat("/var/log/ha"); err == nil {
			t.Log("this machine has a /var/log/ha: the guide's missing-log-directory row cannot be reproduced here")
			return ""
		}
		editLine(t, dir, "ha.cf", "logfile     /var/log/ha-log", "logfile     /var/log/ha/ha-log")
		return "node1"
	},
}

// edit is the mutation that replaces the one line of the sample's file
// that reads old, checked as node1.
func edit(file, old, new string) func(*testing.T, string) string {
	return func(t *testing.T, dir string) string {
		editLine(t, dir, file, old, new)
		return "node1"
	}
}

func chmod(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// editLine replaces the one line of dir/file that reads old.
func editLine(t *testing.T, dir, file, old, new string) {
	t.Helper()
	p := filepath.Join(dir, file)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	text, err := replaceLine(string(b), file, old, new)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), fi.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}

// theirInterfaces hides the machine's own interface list in a message.
var theirInterfaces = regexp.MustCompile(`\(it has: [^)]*\)`)

// checkErrorRows runs each row's mutation on a copy of the sample (which
// the guide says it put in /tmp/ha.d) and compares what hbd check prints
// with the row's message, word for word.
func checkErrorRows(t *testing.T, rows [][]string) []string {
	t.Helper()
	var problems []string
	for _, row := range rows {
		if len(row) < 2 {
			continue
		}
		mutate, ok := errorMutations[row[0]]
		if !ok {
			problems = append(problems, fmt.Sprintf("row %q: no mutation reproduces it; add one to errorMutations", row[0]))
			continue
		}
		dir := sampleCopy(t)
		node := mutate(t, dir)
		if node == "" {
			continue
		}
		var out, errOut bytes.Buffer
		runCheck(append([]string{"-c", dir, "--node", node}, tempDirs(t)...), &out, &errOut)
		got := theirInterfaces.ReplaceAllString(strings.ReplaceAll(errOut.String(), dir, "/tmp/ha.d"), "(it has: …)")
		want := theirInterfaces.ReplaceAllString(strings.TrimSuffix(strings.TrimPrefix(row[1], "`"), "`"), "(it has: …)")
		if !slices.Contains(strings.Split(got, "\n"), want) {
			problems = append(problems, fmt.Sprintf("row %q: hbd check does not print\n  %s\nit prints:\n%s", row[0], want, got))
		}
	}
	return problems
}

func TestGuideErrorMessages(t *testing.T) {
	md := readDoc(t, "docs/guide-floating-ip-nginx.md")
	rows := doccheck.TableRows(doccheck.Section(md, "10. Common errors"))
	if len(rows) < 5 {
		t.Fatalf("found %d rows in the guide's Common errors table", len(rows))
	}
	for _, p := range checkErrorRows(t, rows) {
		t.Error(p)
	}
}

// TestCheckErrorRowsFails: a message that is not what hbd check prints (a
// wrong line number) and a row nothing reproduces are caught.
func TestCheckErrorRowsFails(t *testing.T) {
	wantProblems(t, checkErrorRows(t, [][]string{
		{"a typo in a directive", "`/tmp/ha.d/ha.cf:19: unknown directive \"keepalived\"; did you mean \"keepalive\"?`"},
		{"a brand new mistake", "`/tmp/ha.d/ha.cf:1: oops`"},
	}), []string{`row "a typo in a directive": hbd check does not print`, `row "a brand new mistake": no mutation reproduces it`})
}

// theirWarnings matches what only this machine warns about: an interface
// of the sample it does not have (a warning with --files-only).
const theirWarnings = "does not exist on this machine"

// checkOutput runs `hbd check ARGS` on a copy of the sample (chmod 600
// authkeys, as the README's quick start says) and returns what a terminal
// shows: the diagnostics, then the summary, with the copy's path written
// as etc/ha.d. Warnings that depend on this machine's interfaces are left
// out, and the count in the summary's first line with them.
func checkOutput(t *testing.T, args []string) string {
	t.Helper()
	dir := sampleCopy(t)
	for i := range args {
		if args[i] == "etc/ha.d" {
			args[i] = dir
		}
	}
	args = append(args, tempDirs(t)...)
	if _, err := net.InterfaceByName("eth0"); err != nil {
		// The sample's eth0 is not here: check it for its machines.
		args = append(args, "--files-only")
	}
	var out, errOut bytes.Buffer
	runCheck(args, &out, &errOut)
	var lines []string
	dropped := 0
	for _, l := range strings.Split(strings.TrimRight(errOut.String(), "\n"), "\n") {
		if strings.Contains(l, theirWarnings) {
			dropped++
		} else if l != "" && !strings.HasPrefix(l, "hbd check: note: ") { // not root: directories not checked
			lines = append(lines, l)
		}
	}
	summary := out.String()
	if dropped > 0 {
		summary = warningCount.ReplaceAllStringFunc(summary, func(s string) string {
			n, _ := strconv.Atoi(warningCount.FindStringSubmatch(s)[1])
			switch n -= dropped; n {
			case 0:
				return ""
			case 1:
				return " (1 warning above)"
			default:
				return fmt.Sprintf(" (%d warnings above)", n)
			}
		})
	}
	text := strings.Join(append(lines, strings.TrimRight(summary, "\n")), "\n")
	return strings.ReplaceAll(text, dir, "etc/ha.d")
}

var warningCount = regexp.MustCompile(` \((\d+) warnings? above\)`)

// quotedCheck finds the block of a page that quotes `$ hbd check ARGS`
// and its output.
func quotedCheck(md string) (args []string, output string, ok bool) {
	for _, b := range doccheck.Blocks(md) {
		first, rest, _ := strings.Cut(b.Body, "\n")
		if strings.HasPrefix(first, "$ hbd check ") {
			return strings.Fields(first)[3:], strings.TrimRight(rest, "\n"), true
		}
	}
	return nil, "", false
}

// TestGuideCheckOutput: the floating-IP guide quotes hbd check on the
// sample; it is what hbd check prints.
func TestGuideCheckOutput(t *testing.T) {
	args, quoted, ok := quotedCheck(readDoc(t, "docs/guide-floating-ip-nginx.md"))
	if !ok {
		t.Fatal("docs/guide-floating-ip-nginx.md quotes no `$ hbd check` output")
	}
	if got := checkOutput(t, args); got != quoted {
		t.Errorf("the guide quotes\n%s\n\nhbd check prints\n%s", quoted, got)
	}
}

func TestCheckOutputFails(t *testing.T) {
	args, quoted, ok := quotedCheck("text\n\n```\n$ hbd check -c etc/ha.d --node node2\netc/ha.d is valid for node node1\n```\n")
	if !ok || len(args) != 4 {
		t.Fatalf("quotedCheck = %q, %q, %v", args, quoted, ok)
	}
	if got := checkOutput(t, args); got == quoted || !strings.Contains(got, "is valid for node node2") {
		t.Errorf("a quote of the wrong node's output went unnoticed: %q", got)
	}
}

// guideStatus is the cluster the floating-IP guide's `hbd status` quote
// shows (section 5): node1 active 10 s after its start, node2 heard 73 ms
// ago on eth0, the group running on node1 for 5.929 s.
func guideStatus(now time.Time) ctl.Status {
	return ctl.Status{
		PID:     28557,
		Started: now.Add(-10 * time.Second),
		Cluster: cluster.Status{
			Node: "node1", State: "active", Generation: 1795326667,
			Peers: []cluster.PeerStatus{{
				Name: "node2", State: "active", LastHeard: now.Add(-73 * time.Millisecond), Generation: 1795326670,
				Links: []cluster.LinkStatus{{Name: "eth0", State: "up", LastHeard: now.Add(-73 * time.Millisecond)}},
			}},
			Groups: []cluster.GroupStatus{{
				Key: "IPaddr2::10.0.0.100/24/eth0", Preferred: "node1", Holder: "node1", State: "running",
				Since: now.Add(-5929 * time.Millisecond),
			}},
		},
		Links: map[string]link.LinkStats{"eth0": {Sent: 23, Received: 18, RoutineRead: 7, Steered: true}},
	}
}

// quotedOutput returns the lines after `$ COMMAND` in the first block of
// a page that quotes it.
func quotedOutput(md, command string) (string, bool) {
	for _, b := range doccheck.Blocks(md) {
		first, rest, _ := strings.Cut(b.Body, "\n")
		if first == "$ "+command {
			return strings.TrimRight(rest, "\n"), true
		}
	}
	return "", false
}

// TestGuideStatusOutput: the guide's `hbd status` screen is what hbd
// status prints for the cluster it shows.
func TestGuideStatusOutput(t *testing.T) {
	quoted, ok := quotedOutput(readDoc(t, "docs/guide-floating-ip-nginx.md"), "sudo hbd status")
	if !ok {
		t.Fatal("docs/guide-floating-ip-nginx.md quotes no `$ sudo hbd status`")
	}
	now := time.Date(2026, 11, 22, 5, 51, 20, 0, time.UTC)
	var out bytes.Buffer
	printStatus(&out, guideStatus(now), now)
	if got := trimLines(out.String()); got != trimLines(quoted) {
		t.Errorf("the guide quotes\n%s\n\nhbd status prints\n%s", quoted, got)
	}
}

func TestQuotedOutput(t *testing.T) {
	md := "```\n$ sudo hbd status\nnode1 (this node): active\n```\n"
	if got, ok := quotedOutput(md, "sudo hbd status"); !ok || got != "node1 (this node): active" {
		t.Errorf("quotedOutput = %q, %v", got, ok)
	}
	if _, ok := quotedOutput(md, "hbd status"); ok {
		t.Error("quotedOutput found a command the page does not quote")
	}
}

// trimLines drops the spaces at the ends of lines (tabwriter pads the
// last column; a page does not keep them) and the final newlines.
func trimLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// TestGuideStatusOutputCanFail: another state prints another screen, so
// the comparison above sees a drift.
func TestGuideStatusOutputCanFail(t *testing.T) {
	quoted, _ := quotedOutput(readDoc(t, "docs/guide-floating-ip-nginx.md"), "sudo hbd status")
	now := time.Date(2026, 11, 22, 5, 51, 20, 0, time.UTC)
	st := guideStatus(now)
	st.Links["eth0"] = link.LinkStats{Sent: 23, Received: 18, KernelDrops: 1}
	var out bytes.Buffer
	printStatus(&out, st, now)
	if trimLines(out.String()) == trimLines(quoted) {
		t.Error("a status with a kernel drop printed the guide's screen")
	}
}

// TestGuideNotRunningMessage: what the floating-IP guide says hbd status
// prints, and its exit status, with no daemon running.
func TestGuideNotRunningMessage(t *testing.T) {
	md := readDoc(t, "docs/guide-floating-ip-nginx.md")
	m := regexp.MustCompile("it prints\\s+`([^`]+)`\\s+and exits (\\d+)").FindStringSubmatch(strings.Join(strings.Fields(md), " "))
	if m == nil {
		t.Fatal("the guide no longer says what hbd status prints with no daemon running")
	}
	runDir := t.TempDir()
	var out, errOut bytes.Buffer
	rc := runStatus([]string{"--run-dir", runDir}, &out, &errOut)
	got := strings.TrimSpace(strings.ReplaceAll(errOut.String(), runDir, paths.RunDir))
	if got != m[1] || strconv.Itoa(rc) != m[2] {
		t.Errorf("the guide says %q and exit %s; hbd status prints %q and exits %d", m[1], m[2], got, rc)
	}
}
