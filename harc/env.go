package harc

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/hbdproject/hbd/hbd/paths"
)

// Environ returns the environment every resource script and rc.d hook gets
// (hooks get their message fields on top, see RunEvent). It is hbd's own
// environment without LC_ALL and LANGUAGE (Heartbeat's ResourceManager
// unsets them so that tools like ifconfig print what scripts parse), with
// these variables set as Heartbeat 3.0.6 and resource-agents' shellfuncs
// expect them:
//
//	HA_DIR          the configuration directory (Options.ConfigDir)
//	HA_CF           HA_DIR/ha.cf
//	HA_FUNCS        HA_DIR/shellfuncs
//	HA_RCDIR        HA_DIR/rc.d
//	HA_RESOURCEDIR  HA_DIR/resource.d
//	HA_CURHOST      this node's name (Options.Node)
//	HA_VARLIB       the state directory (Options.StateDir, /var/lib/heartbeat)
//	HA_FIFO         HA_VARLIB/fifo
//	HA_RSCTMP       scratch directory of resource agents (Options.RscTmp,
//	                /run/resource-agents)
//	HA_LOGFILE      ha.cf logfile   (only when set)
//	HA_DEBUGLOG     ha.cf debugfile (only when set)
//	HA_LOGFACILITY  ha.cf logfacility (only when set and not "none")
//	HA_LOGD         "yes" or "no" (ha.cf use_logd)
//	HA_debug        ha.cf debug level, "0" by default
//	HA_DATEFMT      "%Y/%m/%d_%T ", the time format of shell log lines
//	HA_NICEFAILBACK "yes" unless auto_failback is legacy (Options.NiceFailback)
//
// A Start, Stop or RunResource under WithFencingToken adds
// HA_FENCING_TOKEN (fencing.go).
//
// Options.Env adds or overrides anything (ha.cf `env NAME=VALUE`, tests).
//
// Shell tools log with these: ha_log appends to HA_LOGFILE, ha_debug to
// HA_DEBUGLOG, in Heartbeat's shell line format, so their lines land in the
// same files as hbd's.
func (r *Runner) Environ() []string { return r.opts.baseEnv() }

// shellDateFmt is HA_DATEFMT as Heartbeat sets it: shell log lines read
// "2026/11/22_03:44:27  tag[pid]:    info: ...".
const shellDateFmt = "%Y/%m/%d_%T "

// baseEnv builds the environment for scripts from the options; extra
// entries ("NAME=value") come last and win.
func (o *Options) baseEnv(extra ...string) []string {
	drop := map[string]bool{"LC_ALL": true, "LANGUAGE": true}
	set := o.haEnv()
	for _, kv := range extra {
		if k, v, ok := strings.Cut(kv, "="); ok {
			set[k] = v
		}
	}
	env := make([]string, 0, len(os.Environ())+len(set))
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if drop[k] {
			continue
		}
		if _, over := set[k]; over {
			continue
		}
		env = append(env, kv)
	}
	if !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "PATH=") }) {
		if _, ok := set["PATH"]; !ok {
			set["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		env = append(env, k+"="+set[k])
	}
	return env
}

// haEnv is the variables harc sets itself, Options.Env included.
func (o *Options) haEnv() map[string]string {
	set := map[string]string{
		"HA_DIR":          o.ConfigDir,
		"HA_CF":           filepath.Join(o.ConfigDir, "ha.cf"),
		"HA_FUNCS":        filepath.Join(o.ConfigDir, "shellfuncs"),
		"HA_RCDIR":        filepath.Join(o.ConfigDir, paths.RcDir),
		"HA_RESOURCEDIR":  filepath.Join(o.ConfigDir, paths.ResourceDir),
		"HA_CURHOST":      o.Node,
		"HA_VARLIB":       o.StateDir,
		"HA_FIFO":         filepath.Join(o.StateDir, "fifo"),
		"HA_RSCTMP":       o.RscTmp,
		"HA_LOGD":         yesNo(o.UseLogd),
		"HA_debug":        strconv.Itoa(o.Debug),
		"HA_DATEFMT":      shellDateFmt,
		"HA_NICEFAILBACK": yesNo(o.NiceFailback),
	}
	if o.Logfile != "" {
		set["HA_LOGFILE"] = o.Logfile
	}
	if o.Debugfile != "" {
		set["HA_DEBUGLOG"] = o.Debugfile
	}
	if o.LogFacility != "" && o.LogFacility != "none" {
		set["HA_LOGFACILITY"] = o.LogFacility
	}
	for k, v := range o.Env {
		set[k] = v
	}
	return set
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// validEnvName reports whether name can be an environment variable a shell
// can read: [A-Za-z_][A-Za-z0-9_]*.
func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
