package doccheck

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	// docTestName is a Go test, benchmark or fuzz target named in a page.
	docTestName = regexp.MustCompile(`\b(?:Test|Benchmark|Fuzz)[A-Z0-9_]\w*`)
	// testFunc is one defined in a _test.go file.
	testFunc = regexp.MustCompile(`(?m)^func ((?:Test|Benchmark|Fuzz)\w*)\(`)
)

// checkTestNames finds the tests the pages name that no _test.go file
// defines, by page and line. A name is found when a defined test's name
// starts with it: `go test -run TestStandby` runs TestStandbyTakeover.
// The generated part of a page is not read (a run wrote it).
func checkTestNames(pages map[string]string, defined []string) []string {
	var problems []string
	for name, text := range pages {
		for i, l := range strings.Split(withoutGenerated(text), "\n") {
			for _, n := range docTestName.FindAllString(l, -1) {
				found := false
				for _, d := range defined {
					found = found || strings.HasPrefix(d, n)
				}
				if !found {
					problems = append(problems, fmt.Sprintf("%s:%d: names %s, which no _test.go file defines", name, i+1, n))
				}
			}
		}
	}
	return problems
}

// definedTests lists the tests, benchmarks and fuzz targets of every
// _test.go file of the repository.
func definedTests(t *testing.T) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range testFunc.FindAllStringSubmatch(string(b), -1) {
			names = append(names, m[1])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestDocTestNames: every test the pages (and the Makefile) name exists,
// so that a reader who runs it, or looks for the test that holds a rule,
// finds it.
func TestDocTestNames(t *testing.T) {
	defined := definedTests(t)
	if len(defined) < 500 {
		t.Fatalf("found only %d tests: is the walk broken?", len(defined))
	}
	pages := docPages(t)
	pages["Makefile"] = readRepoFile(t, "Makefile")
	for _, p := range checkTestNames(pages, defined) {
		t.Error(p)
	}
}

func TestCheckTestNamesFails(t *testing.T) {
	defined := []string{"TestStandbyTakeover", "TestChaos", "BenchmarkHeartbeat", "FuzzParseHaCf"}
	pages := map[string]string{
		"docs/a.md": "Held by `TestChaos` and `go test -run TestStandby`;\n`BenchmarkHeartbeat`, FuzzParseHaCf.\nA Testament, Tested.\n" +
			"<!-- bench:begin -->\nTestGenerated\n<!-- bench:end -->\n",
	}
	wantProblems(t, checkTestNames(pages, defined), nil)
	pages["docs/b.md"] = "line 1\n| rule | `TestRunRefusesWhatCheckWarnsAbout` |\n"
	pages["Makefile"] = "\tgo test -run '^TestFlood$$' ./hbd/e2e\n"
	wantProblems(t, checkTestNames(pages, defined), []string{
		"docs/b.md:2: names TestRunRefusesWhatCheckWarnsAbout, which no _test.go file defines",
		"Makefile:1: names TestFlood,",
	})
}
