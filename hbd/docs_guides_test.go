package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/internal/doccheck"
)

// The guides' configurations and the README's quick start, run.

// guideSet is one configuration directory a page describes: its files,
// from the page's marked blocks.
type guideSet struct {
	files   map[string]string // ha.cf, authkeys, haresources
	scripts []string          // resource.d/NAME the page says to create
}

// guideSets reads the markers of a page. A block preceded by
// <!-- hbd-check SET FILE --> is that file of configuration SET (FILE is
// ha.cf, authkeys or haresources); <!-- hbd-check SET FILE append -->
// adds the block to it; a line <!-- hbd-check SET script resource.d/NAME -->
// says the page has the reader create that script, and a line
// <!-- hbd-check SET sample --> starts the set from the files of sample
// (etc/ha.d), for a page that shows only the lines it adds.
func guideSets(md string, sample map[string]string) (map[string]*guideSet, []string) {
	sets := map[string]*guideSet{}
	var problems []string
	get := func(name string) *guideSet {
		if sets[name] == nil {
			sets[name] = &guideSet{files: map[string]string{}}
		}
		return sets[name]
	}
	for i, l := range strings.Split(md, "\n") {
		t := strings.TrimSpace(l)
		if !strings.HasPrefix(t, "<!-- hbd-check ") || !strings.HasSuffix(t, "-->") {
			continue
		}
		f := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(t, "<!--"), "-->"))
		switch {
		case len(f) == 3 && f[2] == "sample":
			for name, body := range sample {
				get(f[1]).files[name] = body
			}
		case len(f) == 4 && f[2] == "script":
			if !strings.HasPrefix(f[3], "resource.d/") {
				problems = append(problems, fmt.Sprintf("line %d: script %s is not under resource.d/", i+1, f[3]))
				continue
			}
			get(f[1]).scripts = append(get(f[1]).scripts, f[3])
		}
	}
	for _, b := range doccheck.Blocks(md) {
		f := strings.Fields(b.Marker)
		if len(f) == 0 || f[0] != "hbd-check" {
			continue
		}
		if len(f) < 3 || len(f) > 4 || len(f) == 4 && f[3] != "append" {
			problems = append(problems, fmt.Sprintf("line %d: marker %q: want hbd-check SET FILE [append]", b.Line-1, b.Marker))
			continue
		}
		s := get(f[1])
		if len(f) == 4 {
			s.files[f[2]] += b.Body
		} else {
			s.files[f[2]] = b.Body
		}
	}
	return sets, problems
}

// sampleFiles returns the configuration files of etc/ha.d, with the
// authkeys placeholder replaced as its comment tells the reader to (hbd
// and check refuse the placeholder).
func sampleFiles(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, f := range []string{"ha.cf", "authkeys", "haresources"} {
		files[f] = readDoc(t, filepath.Join("etc", "ha.d", f))
	}
	files["authkeys"] = strings.ReplaceAll(files["authkeys"], "REPLACE-ME", "replaced")
	return files
}

// checkGuideConfig writes each configuration set of a page to a temp
// directory (authkeys at 0600, the scripts the page names as executable
// stubs) and runs `hbd check` on it for every node of its ha.cf: it must
// exit 0, with no warning but a missing interface (the guides' machines
// have eth0, this one may not).
func checkGuideConfig(t *testing.T, name, md string) (problems []string, sets int) {
	t.Helper()
	all, problems := guideSets(md, sampleFiles(t))
	for setName, s := range all {
		where := fmt.Sprintf("%s (hbd-check %s)", name, setName)
		dir := t.TempDir()
		complete := true
		for _, f := range []string{"ha.cf", "authkeys", "haresources"} {
			if _, ok := s.files[f]; !ok {
				problems = append(problems, fmt.Sprintf("%s: no block marked as %s", where, f))
				complete = false
			}
		}
		if !complete {
			continue
		}
		if err := os.MkdirAll(filepath.Join(dir, "resource.d"), 0o755); err != nil {
			t.Fatal(err)
		}
		for f, body := range s.files {
			if f != "ha.cf" && f != "authkeys" && f != "haresources" {
				problems = append(problems, fmt.Sprintf("%s: %s is not a configuration file (ha.cf, authkeys, haresources)", where, f))
				continue
			}
			if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		for _, sc := range s.scripts {
			if err := os.WriteFile(filepath.Join(dir, sc), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		var nodes []string
		for _, l := range strings.Split(s.files["ha.cf"], "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "node" {
				nodes = append(nodes, f[1:]...)
			}
		}
		if len(nodes) == 0 {
			problems = append(problems, fmt.Sprintf("%s: its ha.cf has no node line", where))
		}
		for _, node := range nodes {
			var out, errOut bytes.Buffer
			// --files-only: the guides' machines have interfaces this one
			// may lack.
			rc := runCheck(append([]string{"-c", dir, "--node", node, "--files-only"}, tempDirs(t)...), &out, &errOut)
			if rc != 0 {
				problems = append(problems, fmt.Sprintf("%s: hbd check --node %s exits %d:\n%s", where, node, rc, errOut.String()))
				continue
			}
			for _, l := range strings.Split(strings.TrimSpace(errOut.String()), "\n") {
				if l != "" && !strings.Contains(l, "does not exist on this machine") {
					problems = append(problems, fmt.Sprintf("%s: hbd check --node %s: %s", where, node, l))
				}
			}
		}
		sets++
	}
	return problems, sets
}

func TestGuideConfigs(t *testing.T) {
	total := 0
	for name, md := range markdownPages(t) {
		problems, n := checkGuideConfig(t, name, md)
		for _, p := range problems {
			t.Error(p)
		}
		total += n
	}
	// The floating-IP and the Elastic IP guides each describe one cluster.
	if total < 2 {
		t.Errorf("only %d marked configurations found in the pages", total)
	}
}

// TestCheckGuideConfigFails: a broken file, a missing file and a script
// the page does not create are each caught.
func TestCheckGuideConfigFails(t *testing.T) {
	page := func(hacf, haresources string, script bool) string {
		s := "<!-- hbd-check g ha.cf -->\n```\n" + hacf + "```\n\n<!-- hbd-check g authkeys -->\n```\nauth 1\n1 sha1 guide-test-secret-0123456789\n```\n\n" +
			"<!-- hbd-check g haresources -->\n```\n" + haresources + "```\n"
		if script {
			s += "<!-- hbd-check g script resource.d/web -->\n"
		}
		return s
	}
	hacf := "node node1 node2\nucast lo 127.0.0.2\nauto_failback on\n"
	tests := []struct {
		name     string
		md       string
		problems []string
	}{
		{"in step", page(hacf, "node1 web\n", true), nil},
		{"typo", page(hacf+"keepalived 2\n", "node1 web\n", true), []string{`hbd check --node node1 exits 1`, `unknown directive "keepalived"`}},
		{"warning", page("node node1 node2\nucast lo 127.0.0.2\n", "node1 web\n", true), []string{"auto_failback is not set"}},
		{"script not created", page(hacf, "node1 web\n", false), []string{"cannot locate resource script web"}},
		{"file missing", "<!-- hbd-check g ha.cf -->\n```\n" + hacf + "```\n", []string{"no block marked as authkeys", "no block marked as haresources"}},
		{"bad marker", "<!-- hbd-check g -->\n```\nx\n```\n", []string{"want hbd-check SET FILE [append]"}},
		{"on the sample", "<!-- hbd-check g sample -->\n<!-- hbd-check g script resource.d/nginx -->\n<!-- hbd-check g ha.cf append -->\n```\nping 10.0.0.1\n```\n", nil},
		{"on the sample, broken", "<!-- hbd-check g sample -->\n<!-- hbd-check g script resource.d/nginx -->\n<!-- hbd-check g ha.cf append -->\n```\nping gateway\n```\n",
			[]string{`ping: "gateway" is not an IP address`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems, _ := checkGuideConfig(t, "page.md", tt.md)
			wantProblems(t, problems, tt.problems)
		})
	}
}

// runQuickStart runs a quick start's lines in a fresh copy of the
// repository's etc/ha.d, with the file modes git gives a clone (0644, or
// 0755 for executables) and its media on an interface no machine has (a
// reader's machine need not have the sample's eth0): `chmod MODE PATH`
// is applied, `sed -i ...` is
// run by sh in the clone, `bin/hbd ARGS` runs
// this hbd and must exit 0; `make build` is this test's own build, and
// lines with sudo need root and a running cluster, so they are left to
// TestDocCommands.
func runQuickStart(t *testing.T, block string) []string {
	t.Helper()
	clone := t.TempDir()
	src := filepath.Join(repoRoot, "etc", "ha.d")
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, p)
		dst := filepath.Join(clone, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if fi.Mode()&0o100 != 0 {
			mode = 0o755
		}
		if err := os.WriteFile(dst, b, mode); err != nil {
			return err
		}
		return os.Chmod(dst, mode) // whatever the umask
	})
	if err != nil {
		t.Fatal(err)
	}
	hacf := filepath.Join(clone, "etc", "ha.d", "ha.cf")
	b, err := os.ReadFile(hacf)
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := sampleMedium.ReplaceAll(b, []byte("${1}hbdnosuch0"))
	if bytes.Equal(elsewhere, b) {
		t.Fatal("etc/ha.d/ha.cf: no medium on eth0 to move elsewhere")
	}
	if err := os.WriteFile(hacf, elsewhere, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(clone)
	var problems []string
	ran := 0
	for i, line := range strings.Split(block, "\n") {
		if j := strings.Index(line, " #"); j >= 0 {
			line = line[:j]
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 0, f[0] == "sudo", len(f) == 2 && f[0] == "make" && f[1] == "build":
		case f[0] == "chmod" && len(f) == 3:
			mode, err := strconv.ParseUint(f[1], 8, 32)
			if err == nil {
				err = os.Chmod(f[2], os.FileMode(mode))
			}
			if err != nil {
				problems = append(problems, fmt.Sprintf("line %d: %s: %v", i+1, line, err))
			}
		case f[0] == "sed" && len(f) > 2 && f[1] == "-i":
			// An edit of the clone's files, run as the shell would.
			if out, err := exec.Command("sh", "-c", line).CombinedOutput(); err != nil {
				problems = append(problems, fmt.Sprintf("line %d: %s: %v\n%s", i+1, line, err, out))
			}
		case f[0] == "bin/hbd":
			var out, errOut bytes.Buffer
			if rc := dispatch(f[1:], &out, &errOut); rc != 0 {
				problems = append(problems, fmt.Sprintf("line %d: %s exits %d:\n%s", i+1, strings.TrimSpace(line), rc, errOut.String()))
			}
			ran++
		default:
			problems = append(problems, fmt.Sprintf("line %d: %q: the test does not know how to run this", i+1, strings.TrimSpace(line)))
		}
	}
	if ran == 0 {
		problems = append(problems, "no bin/hbd line was run")
	}
	return problems
}

// sampleMedium is a media line of the sample's ha.cf on eth0.
var sampleMedium = regexp.MustCompile(`(?m)^(\s*(?:ucast|bcast|mcast)6?\s+)eth0\b`)

// quickStart returns the README's quick start block: the one after the
// <!-- hbd-quickstart --> marker.
func quickStart(t *testing.T) string {
	t.Helper()
	for _, b := range doccheck.Blocks(readDoc(t, "README.md")) {
		if b.Marker == "hbd-quickstart" {
			return b.Body
		}
	}
	t.Fatal("README.md has no block marked <!-- hbd-quickstart -->")
	return ""
}

func TestQuickStart(t *testing.T) {
	for _, p := range runQuickStart(t, quickStart(t)) {
		t.Error(p)
	}
}

// TestQuickStartFails: without its chmod, without its secret, or held
// against the interfaces of a machine that lacks the sample's, the quick
// start's check fails on a fresh clone; an unknown step is reported.
func TestQuickStartFails(t *testing.T) {
	without := func(step string) string {
		var kept []string
		for _, l := range strings.Split(quickStart(t), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), step) {
				kept = append(kept, l)
			}
		}
		return strings.Join(kept, "\n")
	}
	t.Run("without chmod", func(t *testing.T) {
		wantProblems(t, runQuickStart(t, without("chmod ")), []string{"exits 1", "mode 0644 allows group/others access"})
	})
	t.Run("without the secret", func(t *testing.T) {
		wantProblems(t, runQuickStart(t, without("sed ")), []string{"exits 1", "the secret is the sample's placeholder"})
	})
	t.Run("on this machine's interfaces", func(t *testing.T) {
		wantProblems(t, runQuickStart(t, strings.ReplaceAll(quickStart(t), " --files-only", "")), []string{"exits 1", "interface hbdnosuch0 does not exist on this machine"})
	})
	t.Run("unknown step", func(t *testing.T) {
		wantProblems(t, runQuickStart(t, "bin/hbd check -c etc/ha.d --node node1\ncp a b\n"), []string{`"cp a b": the test does not know how to run this`, "exits 1"})
	})
}
