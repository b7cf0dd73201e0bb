package daemon

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/hbdproject/hbd/harc"
)

// ScriptsDirName is the directory of the run directory where harc
// records each resource script while it runs (harc.Records).
const ScriptsDirName = "scripts"

// killLeftovers opens the records of the resource scripts in the run
// directory and kills what a previous daemon of this node, which died
// while they ran (kill -9, a crash, the OOM killer), left of them: before
// the core exists, so before any probe of a group. A start cut short
// must not finish after this daemon found its resource stopped and let
// a peer take the group. Each script cut short is logged as a warning.
// Processes that survive SIGKILL (stuck in the kernel) refuse the start:
// they may still change a resource. The pid file is held: no other hbd
// runs from this run directory, so every record is a dead daemon's.
func (d *Daemon) killLeftovers() error {
	rs, err := harc.OpenRecords(filepath.Join(d.opts.RunDir, ScriptsDirName), d.log.Logger)
	if errors.Is(err, harc.ErrUnsafeRecordsDir) {
		return &FilesError{Err: err} // a retry meets it again
	}
	if err != nil {
		return err
	}
	if _, err := rs.KillLeftovers(0); err != nil {
		return fmt.Errorf("%w; not starting while they may still change a resource", err)
	}
	d.records = rs
	return nil
}
