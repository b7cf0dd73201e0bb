package doccheck

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// docPages lists the pages whose links are checked: README.md, every
// Markdown page under docs/ and the man pages, by path from the root.
func docPages(t *testing.T) map[string]string {
	t.Helper()
	pages := map[string]string{"README.md": readRepoFile(t, "README.md")}
	for _, pattern := range []string{"docs/*.md", "docs/man/*.[1-8]"} {
		matches, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(root, m)
			pages[filepath.ToSlash(rel)] = readRepoFile(t, rel)
		}
	}
	if len(pages) < 10 {
		t.Fatalf("found only %d pages", len(pages))
	}
	return pages
}

var (
	// mdMention is a Markdown file named in the text, linked or not.
	mdMention = regexp.MustCompile(`(?:^|[\s(\x60"'])((?:\.\.?/|[\w-]+/)*[\w.-]+\.md)\b`)
	// repoPath is a code span that is a path in the repository: it starts
	// with one of the top-level folders.
	repoPath = regexp.MustCompile(`^(?:hbd|harc|resources|etc|init|docs|\.ci)/[\w./@-]*$`)
	scheme   = regexp.MustCompile(`^[a-z][a-z0-9+.-]*:`)
)

// repo answers questions about the files of the repository.
type repo struct {
	exists    func(rel string) bool // a path from the root
	basenames map[string]bool       // every file's base name
	read      func(rel string) (string, bool)
}

func diskRepo(t *testing.T) repo {
	t.Helper()
	names := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != root && d.Name() != ".ci" {
			return filepath.SkipDir
		}
		names[d.Name()] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return repo{
		exists: func(rel string) bool {
			_, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel)))
			return err == nil
		},
		basenames: names,
		read: func(rel string) (string, bool) {
			b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
			return string(b), err == nil
		},
	}
}

// checkLinks finds what the pages point at that is not there: a link to
// a file (or a heading of a page) that does not exist, a Markdown file
// named in the text that is not in the repository, a repository path in
// a code span that does not exist.
func checkLinks(pages map[string]string, r repo) []string {
	var problems []string
	for name, text := range pages {
		dir := path.Dir(name)
		isMan := !strings.HasSuffix(name, ".md")
		prose := text
		if isMan {
			var b strings.Builder
			for _, l := range ManLines(text) {
				b.WriteString(l.Text + "\n")
			}
			prose = b.String()
		} else {
			prose = Prose(text)
			for _, l := range Links(text) {
				target, anchor, _ := strings.Cut(l.Text, "#")
				if scheme.MatchString(target) {
					continue
				}
				p := name
				if target != "" {
					p = path.Clean(path.Join(dir, target))
					if strings.HasPrefix(p, "../") || !r.exists(p) {
						problems = append(problems, fmt.Sprintf("%s:%d: link to %s: no such file in the repository", name, l.Line, l.Text))
						continue
					}
				}
				if anchor != "" && strings.HasSuffix(p, ".md") {
					if body, ok := r.read(p); ok && !Anchors(body)[anchor] {
						problems = append(problems, fmt.Sprintf("%s:%d: link to %s: %s has no heading with anchor #%s", name, l.Line, l.Text, p, anchor))
					}
				}
			}
			for _, c := range InlineCode(text) {
				p := strings.TrimSuffix(c.Text, "/")
				if repoPath.MatchString(c.Text) && !r.exists(p) {
					problems = append(problems, fmt.Sprintf("%s:%d: `%s` is not a path in the repository", name, c.Line, c.Text))
				}
			}
		}
		for i, l := range strings.Split(prose, "\n") {
			for _, m := range mdMention.FindAllStringSubmatch(l, -1) {
				f := m[1]
				if r.exists(path.Clean(path.Join(dir, f))) && !strings.HasPrefix(path.Clean(path.Join(dir, f)), "../") ||
					r.exists(path.Clean(f)) || !strings.Contains(f, "/") && r.basenames[f] {
					continue
				}
				problems = append(problems, fmt.Sprintf("%s:%d: names %s, which is not in the repository", name, i+1, f))
			}
		}
	}
	return problems
}

func TestDocLinks(t *testing.T) {
	for _, p := range checkLinks(docPages(t), diskRepo(t)) {
		t.Error(p)
	}
}

// TestCheckLinksFails: each kind of dangling reference is caught.
func TestCheckLinksFails(t *testing.T) {
	files := map[string]string{
		"README.md":       "# hbd\n",
		"docs/config.md":  "# Config\n## Resource monitoring\n",
		"docs/split.md":   "# Split\n",
		"hbd/config/x.go": "",
	}
	r := repo{
		exists: func(rel string) bool {
			if _, ok := files[rel]; ok {
				return true
			}
			for f := range files {
				if strings.HasPrefix(f, rel+"/") {
					return true
				}
			}
			return false
		},
		basenames: map[string]bool{"README.md": true, "config.md": true, "split.md": true, "x.go": true},
		read:      func(rel string) (string, bool) { s, ok := files[rel]; return s, ok },
	}
	tests := []struct {
		name     string
		page     string
		text     string
		problems []string
	}{
		{"in step", "docs/guide.md", "See [config](config.md#resource-monitoring), [README](../README.md), [top](#guide),\n" +
			"[ext](https://example.com/x.md), split.md, `hbd/config` and `hbd/config/x.go`.\n\n# Guide\n", nil},
		{"missing file", "docs/guide.md", "See [the plan](PLAN.md).\n", []string{"docs/guide.md:1: link to PLAN.md: no such file"}},
		{"outside the repository", "docs/guide.md", "See [m](../../elsewhere/NUMBERS.md).\n", []string{"link to ../../elsewhere/NUMBERS.md: no such file"}},
		{"missing anchor", "docs/guide.md", "See [c](config.md#quorum).\n", []string{"docs/config.md has no heading with anchor #quorum"}},
		{"named, not linked", "README.md", "The plan is in the team's PLAN.md.\n", []string{"README.md:1: names PLAN.md, which is not in the repository"}},
		{"stale path", "docs/guide.md", "The lab is in `hbd/internal/netlab`.\n", []string{"`hbd/internal/netlab` is not a path in the repository"}},
		{"man page", "docs/man/x.8", ".SH SEE ALSO\nNUMBERS.md\n", []string{"docs/man/x.8:2: names NUMBERS.md"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblems(t, checkLinks(map[string]string{tt.page: tt.text}, r), tt.problems)
		})
	}
}

// checkLayout finds the folders the README's Layout table does not name:
// every top-level folder and every package folder under hbd/ and
// hbd/internal/ must appear in it as a code span (`hbd/`, `config`,
// `internal/`).
func checkLayout(readme string, dirs []string) []string {
	named := map[string]bool{}
	for _, row := range TableRows(Section(readme, "Layout")) {
		for _, cell := range row {
			for _, span := range CodeSpans(cell) {
				named[strings.TrimSuffix(span, "/")] = true
			}
		}
	}
	var problems []string
	for _, d := range dirs {
		if !named[path.Base(d)] && !named[d] {
			problems = append(problems, fmt.Sprintf("README.md: the Layout table does not name %s/", d))
		}
	}
	return problems
}

// layoutDirs lists the folders the Layout table must name: those of the
// repository, not the build output that .gitignore keeps out of it
// (`make build` writes bin/).
func layoutDirs(t *testing.T) []string {
	t.Helper()
	ignored := map[string]bool{}
	for _, l := range strings.Split(readRepoFile(t, ".gitignore"), "\n") {
		if d, ok := strings.CutPrefix(strings.TrimSpace(l), "/"); ok && strings.HasSuffix(d, "/") {
			ignored[path.Clean(d)] = true
		}
	}
	var dirs []string
	for _, parent := range []string{".", "hbd", "hbd/internal"} {
		entries, err := os.ReadDir(filepath.Join(root, parent))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && e.Name() != "testdata" && !ignored[path.Join(parent, e.Name())] {
				dirs = append(dirs, path.Join(parent, e.Name()))
			}
		}
	}
	return dirs
}

func TestReadmeLayout(t *testing.T) {
	dirs := layoutDirs(t)
	if len(dirs) < 15 {
		t.Fatalf("found only %d folders: %v", len(dirs), dirs)
	}
	for _, p := range checkLayout(readRepoFile(t, "README.md"), dirs) {
		t.Error(p)
	}
}

func TestCheckLayoutFails(t *testing.T) {
	readme := "## Layout\n\n| folder | what |\n| --- | --- |\n| `hbd/` | `config`, `internal/`: `bench` |\n| `docs/` | pages |\n\n## Next\n"
	wantProblems(t, checkLayout(readme, []string{"hbd", "docs", "hbd/config", "hbd/internal", "hbd/internal/bench"}), nil)
	wantProblems(t, checkLayout(readme, []string{"hbd", "init", "hbd/config", "hbd/netlab", "hbd/internal/demo"}),
		[]string{"does not name init/", "does not name hbd/netlab/", "does not name hbd/internal/demo/"})
}

// checkReadmeLinksPages finds the pages of docs/ (and the man pages'
// folder) that README.md does not link: a reader starts there.
func checkReadmeLinksPages(readme string, pages []string) []string {
	linked := map[string]bool{}
	for _, l := range Links(readme) {
		target, _, _ := strings.Cut(l.Text, "#")
		linked[strings.TrimSuffix(path.Clean(target), "/")] = true
	}
	var problems []string
	for _, p := range pages {
		if !linked[p] {
			problems = append(problems, fmt.Sprintf("README.md does not link %s", p))
		}
	}
	return problems
}

func TestReadmeLinksEveryPage(t *testing.T) {
	var pages []string
	for name := range docPages(t) {
		switch {
		case name == "README.md":
		case strings.HasPrefix(name, "docs/man/"):
			if !slices.Contains(pages, "docs/man") {
				pages = append(pages, "docs/man")
			}
		default:
			pages = append(pages, name)
		}
	}
	for _, p := range checkReadmeLinksPages(readRepoFile(t, "README.md"), pages) {
		t.Error(p)
	}
}

func TestCheckReadmeLinksPagesFails(t *testing.T) {
	readme := "- [config](docs/config.md#ha-cf)\n- [man](docs/man/)\n"
	wantProblems(t, checkReadmeLinksPages(readme, []string{"docs/config.md", "docs/man"}), nil)
	wantProblems(t, checkReadmeLinksPages(readme, []string{"docs/config.md", "docs/split-brain.md"}), []string{"README.md does not link docs/split-brain.md"})
}
