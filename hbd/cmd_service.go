package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kardianos/service"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/daemon"
	"github.com/hbdproject/hbd/hbd/paths"
	initfiles "github.com/hbdproject/hbd/init"
)

// The service hbd registers, as Heartbeat's package named it.
const (
	serviceName        = "heartbeat"
	serviceDisplayName = "hbd (Heartbeat-compatible failover daemon)"
	serviceDescription = "hbd exchanges heartbeats with the cluster nodes of ha.cf and runs the resource groups of haresources on the node that should hold them."
)

// The platforms kardianos/service detects that hbd install writes files
// for; others (upstart, OpenRC, procd ...) are refused with a message.
const (
	platformSystemd = "linux-systemd"
	platformSysV    = "unix-systemv"
)

// installedMarker starts every file `hbd install` writes, so that
// `hbd uninstall` removes only those (never a package's or make install's).
const installedMarker = "# Written by `hbd install`; `hbd uninstall` removes it."

// serviceSetup is what `hbd install` registers.
type serviceSetup struct {
	binary    string // absolute path of the hbd binary
	configDir string // absolute configuration directory
	node      string // this node's name, "" for uname -n
}

// unsafeInServiceFile lists characters that a value put into the unit or
// the init script could be misread by: quoting, expansion, templating.
const unsafeInServiceFile = " \t\n\"'`$%\\{}#;"

func (s serviceSetup) validate() error {
	for _, v := range []struct{ what, val string }{{"binary path", s.binary}, {"configuration directory", s.configDir}, {"node name", s.node}} {
		if i := strings.IndexAny(v.val, unsafeInServiceFile); i >= 0 {
			return fmt.Errorf("%s %q contains %q, which the service files cannot hold", v.what, v.val, v.val[i])
		}
	}
	if !filepath.IsAbs(s.binary) || !filepath.IsAbs(s.configDir) {
		return fmt.Errorf("binary %q and configuration directory %q must be absolute paths", s.binary, s.configDir)
	}
	return nil
}

// replaceLine replaces the one line equal to old; an init file that no
// longer has it is an error (the files and this code must change together).
func replaceLine(text, file, old, repl string) (string, error) {
	lines := strings.Split(text, "\n")
	found := 0
	for i, l := range lines {
		if l == old {
			lines[i] = repl
			found++
		}
	}
	if found != 1 {
		return "", fmt.Errorf("init/%s: expected exactly one line %q, found %d", file, old, found)
	}
	return strings.Join(lines, "\n"), nil
}

// systemdUnit is init/heartbeat.service for this setup: our binary, and
// the configuration directory and node as Environment= defaults (which
// /etc/default/heartbeat still overrides, as documented in the unit).
func (s serviceSetup) systemdUnit() (string, error) {
	unit := strings.ReplaceAll(initfiles.SystemdUnit, initfiles.DefaultBinary+" ", s.binary+" ")
	unit, err := replaceLine(unit, "heartbeat.service",
		"Environment=HBD_CONFIG_DIR="+paths.ConfigDir+" HBD_NODE=",
		"Environment=HBD_CONFIG_DIR="+s.configDir+" HBD_NODE="+s.node)
	if err != nil {
		return "", err
	}
	return templateSafe(installedMarker + "\n" + unit)
}

// sysvScript is init/heartbeat for this setup; its defaults lines name
// our binary, configuration directory and node.
func (s serviceSetup) sysvScript() (string, error) {
	script := initfiles.SysVScript
	var err error
	for _, r := range []struct{ old, repl string }{
		{"HBD_BIN=" + initfiles.DefaultBinary, "HBD_BIN=" + s.binary},
		{"HBD_CONFIG_DIR=" + paths.ConfigDir, "HBD_CONFIG_DIR=" + s.configDir},
		{"HBD_NODE=", "HBD_NODE=" + s.node},
	} {
		if script, err = replaceLine(script, "heartbeat", r.old, r.repl); err != nil {
			return "", err
		}
	}
	// The marker goes after the #! line.
	first, rest, _ := strings.Cut(script, "\n")
	return templateSafe(first + "\n" + installedMarker + "\n" + rest)
}

// templateSafe refuses text that kardianos/service's template engine
// would change: our files are passed as its templates, to be written as is.
func templateSafe(text string) (string, error) {
	if strings.Contains(text, "{{") {
		return "", errors.New("service file contains {{, which kardianos/service would read as a template")
	}
	return text, nil
}

// noProgram satisfies service.Interface: hbd install and uninstall only
// register the service; `hbd run` is what the service manager starts.
type noProgram struct{}

func (noProgram) Start(service.Service) error { return nil }
func (noProgram) Stop(service.Service) error  { return nil }

// newService builds the kardianos/service handle for setup with our own
// files as the templates.
func newService(setup serviceSetup) (service.Service, error) {
	unit, err := setup.systemdUnit()
	if err != nil {
		return nil, err
	}
	script, err := setup.sysvScript()
	if err != nil {
		return nil, err
	}
	args := []string{"run", "-c", setup.configDir}
	if setup.node != "" {
		args = append(args, "--node", setup.node)
	}
	return service.New(noProgram{}, &service.Config{
		Name:         serviceName,
		DisplayName:  serviceDisplayName,
		Description:  serviceDescription,
		Executable:   setup.binary,
		Arguments:    args,
		Dependencies: []string{"After=network-online.target", "Wants=network-online.target"},
		Option: service.KeyValue{
			"SystemdScript": unit,
			"SysvScript":    script,
			"Restart":       "on-failure",
			"ReloadSignal":  "HUP",
		},
	})
}

// servicePlatform is the service manager kardianos/service found, or an
// error that says why hbd install cannot use it.
func servicePlatform(s service.Service) (string, error) {
	if service.ChosenSystem() == nil {
		return "unknown", errors.New("no service manager detected on this machine")
	}
	switch p := s.Platform(); p {
	case platformSystemd, platformSysV:
		return p, nil
	default:
		return p, fmt.Errorf("this machine's service manager is %s; hbd install writes systemd units and SysV init scripts only", p)
	}
}

// serviceFile is where a platform's service file lives.
func serviceFile(platform string) string {
	if platform == platformSystemd {
		return "/etc/systemd/system/" + serviceName + ".service"
	}
	return filepath.Join(paths.InitDir, serviceName)
}

// sysvLinks are the rc.d links kardianos/service makes for a SysV service.
func sysvLinks() []string {
	var links []string
	for _, rl := range "2345" {
		links = append(links, fmt.Sprintf("/etc/rc%c.d/S50%s", rl, serviceName))
	}
	for _, rl := range "016" {
		links = append(links, fmt.Sprintf("/etc/rc%c.d/K02%s", rl, serviceName))
	}
	return links
}

const installUsage = `usage: hbd install [-c|--config DIR] [--node NAME] [--print]
Registers the ` + "`heartbeat`" + ` service: writes /etc/systemd/system/heartbeat.service
and enables it under systemd, or /etc/init.d/heartbeat and its rc.d links under
SysV init. It runs this binary as ` + "`hbd run -c DIR`" + `. Needs root. It does not start
the service.`

const uninstallUsage = `usage: hbd uninstall
Removes what ` + "`hbd install`" + ` wrote (never a file it did not write). It does not
stop a running hbd. Needs root.`

// runInstall is `hbd install [--config DIR] [--node NAME] [--print]`.
func runInstall(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("install", installUsage, stdout, stderr)
	dir := fs.String("config", paths.ConfigDir, "configuration `DIR` the service runs with")
	fs.StringVar(dir, "c", paths.ConfigDir, "short for --config")
	node := fs.String("node", "", "this node's `NAME` (default: uname -n when the service starts)")
	printOnly := fs.Bool("print", false, "print the service file for this machine instead of installing it (no root needed)")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return fs.usageError("unexpected argument %q", fs.Arg(0))
	}
	setup, err := currentSetup(*dir, *node)
	if err != nil {
		fmt.Fprintf(stderr, "hbd install: %v\n", err)
		return 1
	}
	s, err := newService(setup)
	if err != nil {
		fmt.Fprintf(stderr, "hbd install: %v\n", err)
		return 1
	}
	platform, perr := servicePlatform(s)
	if *printOnly {
		if perr != nil {
			fmt.Fprintf(stderr, "hbd install: %v; printing the systemd unit\n", perr)
			platform = platformSystemd
		}
		text, _ := setup.systemdUnit()
		if platform == platformSysV {
			text, _ = setup.sysvScript()
		}
		fmt.Fprint(stdout, text)
		return 0
	}
	if perr != nil {
		fmt.Fprintf(stderr, "hbd install: %v.\nInstall init/heartbeat.service or init/heartbeat from the sources by hand (`make install` does),\nor have your service manager run `%s run -c %s`.\n", perr, setup.binary, setup.configDir)
		return 1
	}
	if os.Geteuid() != 0 {
		fmt.Fprintf(stderr, "hbd install: must be run as root: it writes %s (use --print to see it)\n", serviceFile(platform))
		return 1
	}
	path := serviceFile(platform)
	if _, err := os.Lstat(path); err == nil {
		fmt.Fprintf(stderr, "hbd install: %s already exists; the heartbeat service is installed (by hbd install, make install or a package)\n", path)
		if platform == platformSystemd {
			fmt.Fprintln(stderr, "Run `hbd uninstall` first to replace a unit hbd install wrote.")
		} else {
			fmt.Fprintln(stderr, "Run `hbd uninstall` first to replace a script hbd install wrote; enable an existing one with `update-rc.d heartbeat defaults`.")
		}
		return 1
	}
	warnConfig(stderr, setup)
	if err := s.Install(); err != nil {
		fmt.Fprintf(stderr, "hbd install: %s: %v\n", path, err)
		return 1
	}
	fmt.Fprintf(stdout, "installed the heartbeat service (%s): %s runs `%s run -c %s", platformWord(platform), path, setup.binary, setup.configDir)
	if setup.node != "" {
		fmt.Fprintf(stdout, " --node %s", setup.node)
	}
	fmt.Fprintln(stdout, "`")
	if platform == platformSystemd {
		fmt.Fprintln(stdout, "enabled at boot; start it now with: systemctl start heartbeat")
	} else {
		fmt.Fprintln(stdout, "started at boot (runlevels 2-5); start it now with: service heartbeat start")
	}
	return 0
}

func platformWord(platform string) string {
	if platform == platformSystemd {
		return "systemd"
	}
	return "SysV init"
}

// currentSetup is this binary with dir and node made safe for the files.
func currentSetup(dir, node string) (serviceSetup, error) {
	exe, err := os.Executable()
	if err != nil {
		return serviceSetup{}, fmt.Errorf("cannot find this binary's path: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return serviceSetup{}, fmt.Errorf("configuration directory %s: %w", dir, err)
	}
	setup := serviceSetup{binary: exe, configDir: absDir, node: node}
	return setup, setup.validate()
}

// warnConfig says, without refusing, when the service would not start
// with the configuration as it is now.
func warnConfig(stderr io.Writer, setup serviceSetup) {
	name, err := nodeName(setup.node)
	if err != nil {
		fmt.Fprintf(stderr, "hbd install: warning: %v\n", err)
		return
	}
	cfg, diags := daemon.LoadConfig(setup.configDir, loadOptions(name, true))
	if cfg != nil {
		return
	}
	for _, d := range diags {
		if d.Severity == config.SevError {
			fmt.Fprintln(stderr, d.String())
		}
	}
	fmt.Fprintf(stderr, "hbd install: warning: %s has errors (above); the service will not start until they are fixed (hbd check -c %s)\n", setup.configDir, setup.configDir)
}

// runUninstall is `hbd uninstall`.
func runUninstall(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("uninstall", uninstallUsage, stdout, stderr)
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return fs.usageError("unexpected argument %q", fs.Arg(0))
	}
	setup, err := currentSetup(paths.ConfigDir, "")
	if err != nil {
		fmt.Fprintf(stderr, "hbd uninstall: %v\n", err)
		return 1
	}
	s, err := newService(setup)
	if err != nil {
		fmt.Fprintf(stderr, "hbd uninstall: %v\n", err)
		return 1
	}
	platform, err := servicePlatform(s)
	if err != nil {
		fmt.Fprintf(stderr, "hbd uninstall: %v; nothing to remove\n", err)
		return 1
	}
	path := serviceFile(platform)
	if os.Geteuid() != 0 {
		fmt.Fprintf(stderr, "hbd uninstall: must be run as root: it removes %s\n", path)
		return 1
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "hbd uninstall: %s does not exist: the heartbeat service is not installed by hbd install\n", path)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "hbd uninstall: %v\n", err)
		return 1
	}
	if !strings.Contains(string(b), installedMarker) {
		fmt.Fprintf(stderr, "hbd uninstall: %s was not written by hbd install (a package or make install put it there); not removing it\n", path)
		return 1
	}
	if err := s.Uninstall(); err != nil {
		fmt.Fprintf(stderr, "hbd uninstall: %s: %v\n", path, err)
		return 1
	}
	removed := []string{path}
	if platform == platformSysV {
		// kardianos/service makes these links on install but leaves them
		// on uninstall; remove the ones that point at our script.
		for _, l := range sysvLinks() {
			if target, err := os.Readlink(l); err == nil && target == path {
				if err := os.Remove(l); err != nil {
					fmt.Fprintf(stderr, "hbd uninstall: %v\n", err)
					return 1
				}
				removed = append(removed, l)
			}
		}
	}
	fmt.Fprintf(stdout, "removed the heartbeat service (%s): %s\n", platformWord(platform), strings.Join(removed, " "))
	pidPath := filepath.Join(paths.RunDir, ctl.PidFileName)
	if pid, held := daemon.PidFileHolder(paths.RunDir); held {
		fmt.Fprintf(stdout, "hbd is still running (pid %d holds the lock on %s); it was not stopped\n", pid, pidPath)
	} else if _, err := os.Stat(pidPath); err == nil {
		// An older hbd held no lock: the file alone cannot tell.
		fmt.Fprintf(stdout, "hbd may still be running (%s exists); it was not stopped\n", pidPath)
	}
	return 0
}
