package daemon

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/testenv"
)

func TestIdentity(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Unix(1_800_000_000, 0)

	first, err := LoadIdentity(dir, t0)
	if err != nil {
		t.Fatal(err)
	}
	if first.Previous != 0 || first.Generation != 1_800_000_000 {
		t.Errorf("first start: %+v, want generation = epoch seconds", first)
	}
	if first.UUID == [16]byte{} {
		t.Error("uuid is zero")
	}

	// A restart within the same second still moves forward, and keeps the uuid.
	second, err := LoadIdentity(dir, t0)
	if err != nil {
		t.Fatal(err)
	}
	if second.Generation != first.Generation+1 || second.Previous != first.Generation {
		t.Errorf("restart: %+v after %+v", second, first)
	}
	if second.UUID != first.UUID {
		t.Error("uuid changed across restarts")
	}

	// A wiped generation file must not send the generation backwards.
	if err := os.Remove(filepath.Join(dir, generationFile)); err != nil {
		t.Fatal(err)
	}
	third, err := LoadIdentity(dir, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if third.Generation <= second.Generation {
		t.Errorf("after wipe: generation %d <= %d", third.Generation, second.Generation)
	}
}

func TestIdentityBadFiles(t *testing.T) {
	tests := []struct {
		name, file string
		data       []byte
	}{
		{"short uuid", uuidFile, []byte("abc")},
		{"garbage generation", generationFile, []byte("not a number at all")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tc.file), tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadIdentity(dir, time.Unix(1, 0)); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

// TestIdentityGenerationFile: what LoadIdentity makes of the generation
// file it finds: hbd's own text, Heartbeat's binary (a native-endian
// seqno_t, 8 bytes on 64-bit machines, 4 on 32-bit ones), and what a
// power loss leaves (an empty or zero-filled file: no previous
// generation, start at the time, do not refuse to start).
func TestIdentityGenerationFile(t *testing.T) {
	const stored = 1_795_318_587
	now := time.Unix(1_700_000_000, 0) // before stored: stored+1 wins
	bin8 := binary.NativeEndian.AppendUint64(nil, stored)
	bin4 := binary.NativeEndian.AppendUint32(nil, stored)
	tests := []struct {
		name     string
		data     []byte
		wantPrev uint64
		wantGen  uint64
	}{
		{"hbd text", []byte("1795318587\n"), stored, stored + 1},
		{"Heartbeat binary, 64-bit", bin8, stored, stored + 1},
		{"Heartbeat binary, 32-bit", bin4, stored, stored + 1},
		{"empty after a power loss", nil, 0, 1_700_000_000},
		{"blank", []byte("\n"), 0, 1_700_000_000},
		{"zero-filled after a power loss", make([]byte, 11), 0, 1_700_000_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, generationFile), tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			id, err := LoadIdentity(dir, now)
			if err != nil {
				t.Fatal(err)
			}
			if id.Previous != tc.wantPrev || id.Generation != tc.wantGen {
				t.Errorf("previous %d generation %d, want %d and %d", id.Previous, id.Generation, tc.wantPrev, tc.wantGen)
			}
			// Written back as hbd's text, whatever the file held.
			b, err := os.ReadFile(filepath.Join(dir, generationFile))
			if err != nil || string(b) != fmt.Sprintf("%d\n", tc.wantGen) {
				t.Errorf("file now holds %q (%v), want %d as text", b, err, tc.wantGen)
			}
		})
	}
}

// TestIdentityUnwritableStateDir: a state directory the daemon cannot
// write to is an error that names the directory and the cause; a missing
// one is created, a file in the way of one is an error. As root (who may
// write anywhere) the unwritable case runs as nobody.
func TestIdentityUnwritableStateDir(t *testing.T) {
	t.Run("not writable", func(t *testing.T) {
		if testenv.InChild(t) {
			checkUnwritable(t, os.Getenv("STATE"))
			return
		}
		dir := t.TempDir()
		if os.Geteuid() != 0 {
			if err := os.Chmod(dir, 0o555); err != nil {
				t.Fatal(err)
			}
			checkUnwritable(t, dir)
			return
		}
		testenv.OpenToAll(t, dir) // root's, 0755: nobody cannot write there
		if out, err := testenv.RunAs(t, testenv.Nobody, testenv.Nobody, "STATE="+dir); err != nil {
			t.Fatalf("as nobody: %v\n%s", err, out)
		}
	})
	t.Run("file in the way", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "state")
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadIdentity(filepath.Join(file, "heartbeat"), time.Unix(1, 0))
		if err == nil || !strings.Contains(err.Error(), "state directory") || !strings.Contains(err.Error(), "not a directory") {
			t.Fatalf("err = %v, want a state directory error saying not a directory", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "var", "lib", "heartbeat")
		if _, err := LoadIdentity(dir, time.Unix(1, 0)); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{uuidFile, generationFile} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Error(err)
			}
		}
	})
}

func checkUnwritable(t *testing.T, dir string) {
	_, err := LoadIdentity(dir, time.Unix(1, 0))
	if err == nil {
		t.Fatalf("uid %d: LoadIdentity in read-only %s succeeded", os.Getuid(), dir)
	}
	msg := err.Error()
	if !strings.Contains(msg, "state directory "+dir+" is not writable") || !strings.Contains(msg, "permission denied") {
		t.Fatalf("err = %q, want it to name the directory and say permission denied", msg)
	}
}

// TestWriteFileAtomicSyncsDir: the directory is synced after the rename
// (when the new file is in place under its name), and a failed sync is an
// error.
func TestWriteFileAtomicSyncsDir(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, generationFile)
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var synced []string
	err := writeFileAtomicSync(path, []byte("new\n"), 0o644, func(d string) error {
		b, err := os.ReadFile(path)
		if err != nil || string(b) != "new\n" {
			t.Errorf("directory synced before the rename: %s holds %q (%v)", path, b, err)
		}
		synced = append(synced, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(synced) != 1 || synced[0] != dir {
		t.Errorf("synced %q, want [%s]", synced, dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Errorf("directory holds %v (%v), want only %s (no temporary file left)", entries, err, generationFile)
	}
	boom := errors.New("EIO")
	if err := writeFileAtomicSync(path, []byte("x\n"), 0o644, func(string) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("a failed directory sync gave %v", err)
	}
	// The real sync works on a directory and reports a missing one.
	if err := syncDir(dir); err != nil {
		t.Error(err)
	}
	if err := syncDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("syncDir of a missing directory succeeded")
	}
}
