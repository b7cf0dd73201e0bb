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

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/paths"
)

// RunEvent runs the rc.d hook of an event as Heartbeat's harc does:
// DIR/rc.d/EVENT with EVENT as its only argument, logged as "Running
// DIR/rc.d/EVENT EVENT" under the harc tag. A missing hook is no hook:
// RunEvent returns nil and logs nothing. A hook that exists but is not an
// executable file is an error (logged, as Heartbeat's harc does).
//
// The hook gets the scripts' environment (see Environ) plus one HA_<name>
// variable per field (HA_t, HA_src, HA_st, HA_rsc_hold, HA_info, ...).
// A field whose name is not a valid variable name, or whose value holds a
// NUL byte, is left out; a field never sets a variable the configuration
// owns (see fieldEnv): a field named "DIR" does not change HA_DIR, one
// named "LOGFILE" does not set HA_LOGFILE even when ha.cf has no logfile.
//
// It runs with Options.EventTimeout; its output is logged at debug level
// under the event's name, and a failure (non-zero exit, timeout) is logged
// and returned with the hook's last output lines.
func (r *Runner) RunEvent(ctx context.Context, event string, fields map[string]string) error {
	if event == "" || event == "." || event == ".." || strings.ContainsAny(event, "/\x00") {
		return fmt.Errorf("harc: %q is not an event name", event)
	}
	path := filepath.Join(r.opts.ConfigDir, paths.RcDir, event)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil && (!fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0) {
		err = errors.New("not an executable file")
	}
	if err == nil {
		// The hook runs as root: it must be root's (config.CheckTrusted).
		// hbd check saw the hooks at load; this one may be newer.
		err = config.CheckTrusted(path)
	}
	if err != nil {
		r.harc.Errorf("%s: %v", path, err)
		return fmt.Errorf("harc: event hook %s: %w", path, err)
	}

	env := r.opts.baseEnv(r.opts.fieldEnv(fields, func(k string) {
		r.harc.Debugf("%s: field %q not exported to the hook", path, k)
	})...)

	r.harc.Infof("Running %s %s", path, event)
	c := Command{
		Path:        path,
		Args:        []string{event},
		Env:         env,
		Timeout:     r.opts.EventTimeout,
		KillGrace:   r.opts.KillGrace,
		OutputLimit: r.opts.OutputLimit,
		Log:         r.opts.Log,
		Tag:         event,
	}
	if rs := r.opts.Records; rs != nil {
		// A hook may start what a resource script would (Heartbeat's
		// ip-request-resp took groups over): what it leaves running
		// when the daemon dies is killed at the next start too.
		c.Track = func(pid int) func() { return rs.Track(pid, ScriptInfo{Op: event, Path: path}) }
	}
	out := c.Run(ctx)
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

// harcOwned are the variables harc sets for scripts (Environ), including
// those it sets only when ha.cf does (HA_LOGFILE, HA_DEBUGLOG,
// HA_LOGFACILITY): a message field may not set them either way.
var harcOwned = []string{
	"HA_DIR", "HA_CF", "HA_FUNCS", "HA_RCDIR", "HA_RESOURCEDIR", "HA_CURHOST",
	"HA_VARLIB", "HA_FIFO", "HA_RSCTMP", "HA_LOGFILE", "HA_DEBUGLOG",
	"HA_LOGFACILITY", "HA_LOGD", "HA_debug", "HA_DATEFMT", "HA_NICEFAILBACK",
}

// ownedEnv is the set of variable names, upper-cased, that belong to the
// configuration and never come from a message: harcOwned, the names of
// ha.cf `env` lines (Options.Env), and HA_<DIRECTIVE> for every ha.cf
// directive (HA_LOGFILE, HA_KEEPALIVE, HA_NODE, ...). Names compare
// without case, so HA_logfile cannot pose as HA_LOGFILE to a script that
// reads either.
func (o *Options) ownedEnv() map[string]bool {
	owned := make(map[string]bool, len(harcOwned)+len(o.Env)+64)
	for _, k := range harcOwned {
		owned[strings.ToUpper(k)] = true
	}
	for k := range o.Env {
		owned[strings.ToUpper(k)] = true
	}
	for _, d := range config.Directives() {
		owned["HA_"+strings.ToUpper(d)] = true
	}
	return owned
}

// fieldEnv turns a message's fields into HA_<name>=value entries, sorted by
// name. A field is left out (and reported to skip) when its name is not a
// valid variable name, when its value holds a NUL byte, or when HA_<name>
// is a variable the configuration owns (ownedEnv).
func (o *Options) fieldEnv(fields map[string]string, skip func(name string)) []string {
	owned := o.ownedEnv()
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	var out []string
	for _, k := range names {
		v := fields[k]
		name := "HA_" + k
		if owned[strings.ToUpper(name)] || !validEnvName(k) || strings.ContainsRune(v, 0) {
			skip(k)
			continue
		}
		out = append(out, name+"="+v)
	}
	return out
}
