package daemon

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"
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

func TestParseGenerationHeartbeatBinary(t *testing.T) {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, 1795318587)
	got, err := parseGeneration(b)
	if err != nil || got != 1795318587 {
		t.Fatalf("parseGeneration(binary) = %d, %v", got, err)
	}
}
