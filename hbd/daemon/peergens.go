package daemon

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// peerGenerationsFile keeps the newest generation (hg) seen of each peer
// in the state directory, one "NODE GENERATION" line (decimal) a peer, so
// that a packet of an older generation, captured before this node
// restarted, is still refused after the restart (cluster.Options).
const peerGenerationsFile = "hbd_peer_generations"

// LoadPeerGenerations reads the generations kept in dir (none when the
// file does not exist). A blank file is what a power loss can leave of a
// write that never reached the disk: none kept, as when missing.
func LoadPeerGenerations(dir string) (map[string]uint64, error) {
	path, b, ok, err := readStateFile(dir, peerGenerationsFile)
	if err != nil {
		return nil, fmt.Errorf("read peer generations: %w", err)
	}
	if !ok {
		return nil, nil
	}
	gens := map[string]uint64{}
	for i, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: want NODE GENERATION (fix or remove the file)", path, i+1)
		}
		g, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: generation %q is not a number (fix or remove the file)", path, i+1, f[1])
		}
		gens[f[0]] = g
	}
	return gens, nil
}

// savePeerGenerations replaces the generations kept in dir atomically
// (file and directory synced, as hb_generation).
func savePeerGenerations(dir string, gens map[string]uint64) error {
	names := make([]string, 0, len(gens))
	for n := range gens {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s %d\n", n, gens[n])
	}
	if err := writeFileAtomic(filepath.Join(dir, peerGenerationsFile), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("save peer generations: %w", err)
	}
	return nil
}
