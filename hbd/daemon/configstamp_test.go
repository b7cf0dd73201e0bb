package daemon

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// TestConfigStamp: the poll's stamps stand for the files until any of
// them is written, truncated, replaced, removed, created or chmodded, and
// never when a file was changed within stampSettle of the hash.
func TestConfigStamp(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, dir string)
		want   bool // unchanged after the change
	}{
		{"nothing", func(*testing.T, string) {}, true},
		{"same size, new content", func(t *testing.T, dir string) { writeFile(t, dir, config.HaCfFile, "keepalive 2\n") }, false},
		{"longer", func(t *testing.T, dir string) { writeFile(t, dir, config.HaCfFile, "keepalive 10\n") }, false},
		{"truncated", func(t *testing.T, dir string) { writeFile(t, dir, config.HaresourcesFile, "") }, false},
		{"chmod", func(t *testing.T, dir string) {
			if err := os.Chmod(filepath.Join(dir, config.AuthkeysFile), 0o644); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"renamed over", func(t *testing.T, dir string) {
			tmp := filepath.Join(dir, "ha.cf.new")
			if err := os.WriteFile(tmp, []byte("keepalive 1\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(dir, config.HaCfFile)); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"removed", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, config.HaresourcesFile)); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"other file", func(t *testing.T, dir string) { writeFile(t, dir, "notes", "x") }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, config.HaCfFile, "keepalive 1\n")
			writeFile(t, dir, config.AuthkeysFile, "auth 1\n1 crc\n")
			writeFile(t, dir, config.HaresourcesFile, "node1 10.0.0.1\n")
			s := newConfigStamp(dir)
			if s.unchanged() {
				t.Fatal("unchanged before any stamp was taken")
			}
			// As if hashed well after the files were written.
			s.taken(time.Now().Add(2 * stampSettle))
			if !s.unchanged() {
				t.Fatal("changed with nothing written")
			}
			// Past the kernel's coarse timestamp tick, so that a write has a
			// ctime of its own (the case stampSettle covers is below).
			time.Sleep(50 * time.Millisecond)
			tc.change(t, dir)
			if got := s.unchanged(); got != tc.want {
				t.Errorf("unchanged = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestConfigStampFresh: a file changed less than stampSettle before the
// hash does not let the next poll skip it, whatever its stamp says.
func TestConfigStampFresh(t *testing.T) {
	dir := t.TempDir()
	for _, f := range configFiles() {
		writeFile(t, dir, f, "x\n")
	}
	s := newConfigStamp(dir)
	s.taken(time.Now())
	if s.unchanged() {
		t.Error("a stamp taken right after a write stands for the content")
	}
	s.taken(time.Now().Add(stampSettle + time.Second))
	if !s.unchanged() {
		t.Error("a settled stamp does not stand for the content")
	}
}

func writeFile(t *testing.T, dir, name, s string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
