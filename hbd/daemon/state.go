package daemon

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The files that must survive a reboot, named as Heartbeat names them in
// /var/lib/heartbeat so an existing node keeps its identity when it moves
// from Heartbeat to hbd.
const (
	uuidFile       = "hb_uuid"
	generationFile = "hb_generation"
)

// Identity is what a node persists: its UUID (sent as srcuuid) and the
// generation of this run (sent as hg; a peer that sees it grow knows we
// restarted, and replayed packets of an older run are dropped).
type Identity struct {
	UUID       [16]byte
	Generation uint64
	// Previous is the generation stored before this run, 0 if none.
	Previous uint64
}

// LoadIdentity reads (or creates) the node UUID and advances the
// generation in dir, writing it back before returning so a crash right
// after start still moves the generation forward.
//
// The new generation is max(stored+1, now in epoch seconds): Heartbeat
// takes stored+1, and epoch seconds when nothing is stored. Taking the
// maximum keeps generations increasing even when the state directory was
// wiped (a reinstall, a tmpfs) — a peer would otherwise drop every packet
// of the restarted node as stale.
func LoadIdentity(dir string, now time.Time) (Identity, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Identity{}, fmt.Errorf("state directory: %w", err)
	}
	id, haveUUID, err := readIdentity(dir)
	if err != nil {
		return id, err
	}
	if !haveUUID {
		if _, err := rand.Read(id.UUID[:]); err != nil {
			return id, fmt.Errorf("new node uuid: %w", err)
		}
		id.UUID[6] = id.UUID[6]&0x0f | 0x40 // version 4
		id.UUID[8] = id.UUID[8]&0x3f | 0x80 // RFC 4122 variant
		if err := writeFileAtomic(filepath.Join(dir, uuidFile), id.UUID[:], 0o644); err != nil {
			return id, fmt.Errorf("save node uuid: %w", err)
		}
	}
	id.Generation = id.Previous + 1
	if epoch := uint64(now.Unix()); epoch > id.Generation {
		id.Generation = epoch
	}
	if err := writeFileAtomic(filepath.Join(dir, generationFile), []byte(strconv.FormatUint(id.Generation, 10)+"\n"), 0o644); err != nil {
		return id, fmt.Errorf("save generation: %w", err)
	}
	return id, nil
}

// readIdentity reads what dir keeps of the node's identity, writing
// nothing: the UUID (haveUUID false when none is kept yet) and the
// generation stored (Previous).
func readIdentity(dir string) (id Identity, haveUUID bool, err error) {
	up := filepath.Join(dir, uuidFile)
	b, err := os.ReadFile(up)
	switch {
	case err == nil && len(b) == 16:
		copy(id.UUID[:], b)
		haveUUID = true
	case err == nil:
		return id, false, fmt.Errorf("%s: %d bytes, want a 16-byte node uuid (remove it to make a new one)", up, len(b))
	case errors.Is(err, fs.ErrNotExist):
	default:
		return id, false, fmt.Errorf("read node uuid: %w", err)
	}

	gp := filepath.Join(dir, generationFile)
	b, err = os.ReadFile(gp)
	switch {
	case err == nil:
		prev, perr := parseGeneration(b)
		if perr != nil {
			return id, haveUUID, fmt.Errorf("%s: %w", gp, perr)
		}
		id.Previous = prev
	case errors.Is(err, fs.ErrNotExist):
	default:
		return id, haveUUID, fmt.Errorf("read generation: %w", err)
	}
	return id, haveUUID, nil
}

// parseGeneration accepts hbd's decimal text and, for a file left by
// Heartbeat, a raw native-endian integer of 4 or 8 bytes. A file that is
// empty, blank or all zero bytes is what a power loss leaves of a write
// that never reached the disk: it counts as none stored (0), as a missing
// file does, so the node starts at the time in epoch seconds with the
// warning "No Previous generation", as Heartbeat's first start does,
// instead of refusing to start.
func parseGeneration(b []byte) (uint64, error) {
	s := strings.TrimSpace(string(b))
	if strings.Trim(s, "\x00") == "" {
		return 0, nil
	}
	if v, err := strconv.ParseUint(s, 10, 64); err == nil {
		return v, nil
	}
	switch len(b) {
	case 4:
		return uint64(binary.NativeEndian.Uint32(b)), nil
	case 8:
		return binary.NativeEndian.Uint64(b), nil
	}
	return 0, fmt.Errorf("generation %q is not a number (remove the file to start over)", s)
}

// readStateFile reads the file name in the state directory dir: its path,
// its bytes, and whether it exists (a missing file is no error: nothing
// kept yet).
func readStateFile(dir, name string) (path string, b []byte, ok bool, err error) {
	path = filepath.Join(dir, name)
	b, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, nil, false, nil
	}
	return path, b, err == nil, err
}

// writeFileAtomic replaces path with data: a temporary file, synced, is
// renamed over it and the directory is synced, so that after a power loss
// the file holds either the old or the new data, and the new name is on
// disk once it returns.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	return writeFileAtomicSync(path, data, mode, syncDir)
}

// writeFileAtomicSync is writeFileAtomic with the directory sync given.
func writeFileAtomicSync(path string, data []byte, mode os.FileMode, syncDir func(dir string) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("state directory %s is not writable: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir flushes dir's entries (a rename in it) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
