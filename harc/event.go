package harc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// RcDir is the folder of event hooks inside the configuration directory.
const RcDir = "rc.d"

// RunEvent runs the rc.d hook of an event as Heartbeat's harc does:
// DIR/rc.d/EVENT with EVENT as its only argument, logged as "Running
// DIR/rc.d/EVENT EVENT" under the harc tag. A missing hook is no hook:
// RunEvent returns nil and logs nothing. A hook that exists but is not an
// executable file is an error (logged, as Heartbeat's harc does).
//
// The hook gets the scripts' environment (see Environ) plus one HA_<name>
// variable per field (HA_t, HA_src, HA_st, HA_rsc_hold, HA_info, ...).
// A field whose name is not a valid variable name, or whose value holds a
// NUL byte, is left out; a field cannot override a variable of the
// scripts' environment (a field named "DIR" does not change HA_DIR).
//
// It runs with Options.EventTimeout; its output is logged at debug level
// under the event's name, and a failure (non-zero exit, timeout) is logged
// and returned with the hook's last output lines.
func (r *Runner) RunEvent(ctx context.Context, event string, fields map[string]string) error {
	if event == "" || event == "." || event == ".." || strings.ContainsAny(event, "/\x00") {
		return fmt.Errorf("harc: %q is not an event name", event)
	}
	path := filepath.Join(r.opts.ConfigDir, RcDir, event)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil && (!fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0) {
		err = errors.New("not an executable file")
	}
	if err != nil {
		r.harc.Errorf("%s: %v", path, err)
		return fmt.Errorf("harc: event hook %s: %w", path, err)
	}

	taken := r.opts.haEnv()
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	var extra []string
	for _, k := range names {
		v := fields[k]
		name := "HA_" + k
		if _, mine := taken[name]; mine || !validEnvName(k) || strings.ContainsRune(v, 0) {
			r.harc.Debugf("%s: field %q not exported to the hook", path, k)
			continue
		}
		extra = append(extra, name+"="+v)
	}
	env := r.opts.baseEnv(extra...)

	r.harc.Infof("Running %s %s", path, event)
	out := Command{
		Path:        path,
		Args:        []string{event},
		Env:         env,
		Timeout:     r.opts.EventTimeout,
		KillGrace:   r.opts.KillGrace,
		OutputLimit: r.opts.OutputLimit,
		Log:         r.opts.Log,
		Tag:         event,
	}.Run(ctx)
	if out.OK() {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "harc: %s %s: %s", path, event, out.Describe())
	writeLastLines(&b, out)
	r.harc.Error(strings.TrimPrefix(b.String(), "harc: "))
	if out.Err != nil {
		return fmt.Errorf("%s: %w", b.String(), out.Err)
	}
	return errors.New(b.String())
}
