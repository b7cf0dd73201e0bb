//go:build linux

package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocIsTheData holds docs/benchmarks.md's generated results against
// docs/benchmarks.json, the run they were rendered from (`make bench` and
// `make bench-merge` write both): the page's figures are the data's,
// rendered by this tree's report code.
func TestDocIsTheData(t *testing.T) {
	docs := filepath.Join("..", "..", "..", "docs")
	rep, err := ReadJSON(filepath.Join(docs, "benchmarks.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(docs, "benchmarks.md"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	i, j := strings.Index(page, BeginMarker), strings.Index(page, EndMarker)
	if i < 0 || j < i {
		t.Fatal("docs/benchmarks.md: no generated section between the bench markers")
	}
	got := strings.Trim(page[i+len(BeginMarker):j], "\n")
	want := strings.Trim(rep.Markdown(), "\n")
	if got != want {
		t.Errorf("docs/benchmarks.md's generated section is not docs/benchmarks.json rendered (run `make bench-merge`, or edit the report code and the page together); first difference at byte %d", firstDiff(got, want))
	}
}

func firstDiff(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
