package daemon

import (
	"bytes"
	"os"
	"strconv"
	"testing"
)

// rssFileKB is this process's resident file-backed memory (RssFile).
func rssFileKB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range bytes.Lines(b) {
		if f := bytes.Fields(line); len(f) >= 2 && string(f[0]) == "RssFile:" {
			kb, err := strconv.Atoi(string(f[1]))
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// TestReleaseFilePages: the read-only pages of the test program (several
// MB once its tests have run) leave its resident size, and the program
// goes on running: what it needs is mapped again.
func TestReleaseFilePages(t *testing.T) {
	before := rssFileKB(t)
	if err := releaseFilePages(); err != nil {
		t.Fatal(err)
	}
	after := rssFileKB(t)
	if after >= before/2 {
		t.Errorf("RssFile %d kB -> %d kB: want it at least halved", before, after)
	}
	// Code and tables not run since are mapped back as they are used.
	if err := releaseFilePages(); err != nil {
		t.Fatal(err)
	}
	t.Logf("RssFile %d kB -> %d kB", before, after)
}
