package ipaddr

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hbdproject/hbd/hbd/paths"
)

// StateDirFromEnv is the record directory for the executable form:
// $HA_RSCTMP (which Heartbeat sets for its resource scripts) or
// resource-agents' paths.RscTmp, which harc also passes by default, so a
// start through harc and a stop by hand agree. It is under /run, so a
// record lives exactly as long as the address it describes (both go at
// reboot).
func StateDirFromEnv() string {
	if d := os.Getenv("HA_RSCTMP"); d != "" {
		return d
	}
	return paths.RscTmp
}

// record says that hbd added an address, so that stop removes only what
// hbd added. One file per address: STATEDIR/hbd-ipaddr/ADDR.
type record struct {
	Agent string    `json:"agent"`
	Addr  string    `json:"addr"`  // with prefix length: "10.0.0.5/24"
	Iface string    `json:"iface"` // where it was added
	Label string    `json:"label,omitempty"`
	Added time.Time `json:"added"`
	PID   int       `json:"pid"`
}

func (a *Agent) recordPath() string {
	// IPv6 colons are fine in file names; a zone never reaches here.
	name := strings.ReplaceAll(a.spec.Addr.String(), "/", "_")
	return filepath.Join(a.stateDir, "hbd-ipaddr", name)
}

// readRecord returns the record of our address, or ok=false when there is
// none.
func (a *Agent) readRecord() (record, bool, error) {
	var r record
	b, err := os.ReadFile(a.recordPath())
	if errors.Is(err, os.ErrNotExist) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("read record: %w", err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, false, fmt.Errorf("record %s: %w", a.recordPath(), err)
	}
	return r, true, nil
}

// writeRecord stores r atomically (temp file, rename).
func (a *Agent) writeRecord(r record) error {
	p := a.recordPath()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("record directory: %w", err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	return nil
}

func (a *Agent) removeRecord() error {
	if err := os.Remove(a.recordPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove record: %w", err)
	}
	return nil
}

// lockAnnounce takes the lock that keeps the announcements of the address
// and its removal apart (how: unix.LOCK_SH for a round of
// announcements, unix.LOCK_EX for a stop, from before its drain until the
// address is gone) and returns its release. A round that found the
// address in place and was held up before it sent would otherwise
// announce an address this node has just given up, after the node taking
// it over has announced it, and the clients would send to this node until
// that node's next round (200 ms later by default). The rounds that
// follow a start run on another Agent than the stop's (in the
// background of a daemon's in-process start, or in the executable's
// follow-up process), so the lock is a file beside the record,
// STATEDIR/hbd-ipaddr/ADDR.lock, kept once made. Without the records'
// directory (nothing recorded here yet) there is nothing to keep apart:
// the release is a no-op.
func (a *Agent) lockAnnounce(how int) (func(), error) {
	f, err := os.OpenFile(a.recordPath()+".lock", os.O_RDONLY|os.O_CREATE, 0o644)
	if errors.Is(err, os.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("announcement lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("announcement lock: %w", err)
	}
	return func() { f.Close() }, nil // closing the file releases the lock
}
