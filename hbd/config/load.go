package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hbdproject/hbd/hbd/paths"
	"github.com/hbdproject/hbd/resources/agents"
)

// The files of a configuration directory.
const (
	HaCfFile        = "ha.cf"
	AuthkeysFile    = "authkeys"
	HaresourcesFile = "haresources"
)

// Lookup finds what runs a haresources resource name.
type Lookup struct {
	// InitDir is searched after DIR/resource.d; empty means paths.InitDir.
	InitDir string
	// Agents are the agents compiled into the program: a name found
	// nowhere on disk but known here is run by hbd itself, and their
	// parsers check the resources' arguments. nil: none.
	Agents *agents.Registry
}

// ocfPrefix starts the name of an OCF resource agent in haresources
// (ocf:PROVIDER:TYPE), which the registry's ocf agent runs.
const ocfPrefix = "ocf:"

func (l Lookup) initDir() string {
	if l.InitDir == "" {
		return paths.InitDir
	}
	return l.InitDir
}

// Resolve returns what runs resource name for the configuration in dir:
// DIR/resource.d/NAME, then INITDIR/NAME (the first regular, executable
// file), then the built-in agent NAME. The error is worded for a person.
//
// An OCF name, ocf:PROVIDER:TYPE, resolves to the agent's program, which
// the registry's ocf agent locates (and checks is installed) and runs.
func (l Lookup) Resolve(dir, name string) (Script, error) {
	if strings.HasPrefix(name, ocfPrefix) {
		a, ok := l.Agents.Lookup(name)
		if !ok || !a.Family {
			return Script{}, fmt.Errorf("resource %s: this program cannot run OCF agents (no built-in ocf runner)", name)
		}
		p, err := a.Locate(name, nil)
		if err != nil {
			return Script{}, err
		}
		return Script{Kind: ScriptOCF, Name: a.Name, Path: p}, nil
	}
	var notExec []string
	for _, d := range []string{filepath.Join(dir, paths.ResourceDir), l.initDir()} {
		p := filepath.Join(d, name)
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			notExec = append(notExec, p)
			continue
		}
		return Script{Kind: ScriptFile, Path: p}, nil
	}
	if a, ok := l.Agents.Lookup(name); ok && !a.Family {
		return Script{Kind: ScriptBuiltin, Name: a.Name}, nil
	}
	if len(notExec) > 0 {
		return Script{}, fmt.Errorf("resource script %s is not an executable file (chmod 755 %s)", notExec[0], notExec[0])
	}
	return Script{}, fmt.Errorf("cannot locate resource script %s (looked in %s, %s); install it there or fix the name",
		name, filepath.Join(dir, paths.ResourceDir), l.initDir())
}

// LoadOptions says who is loading and how strictly.
type LoadOptions struct {
	// Node is this node's name (uname -n, or --node).
	Node string
	// Strict applies `hbd run`'s rules: what a lenient reader (harc)
	// only warns about because run refuses it becomes an error (a medium
	// on an interface this machine does not have, a weak authkeys key).
	Strict bool
	// AnyMachine checks the files for a machine other than this one
	// (`hbd check --files-only`): what depends on this machine's
	// interfaces stays a warning even when Strict.
	AnyMachine bool
	// Lookup finds resource scripts.
	Lookup Lookup
	// Interfaces lists this machine's network interfaces; nil means
	// net.Interfaces.
	Interfaces func() ([]string, error)
	// HereLater leaves out what the built-in agents say a start of the
	// resources would meet on this machine (checkHere), for a caller
	// that asks it apart with CheckHere, off a loop that must not wait
	// for it (the daemon's reload): an agent may read the whole routing
	// table, which on a router holds every route of the Internet.
	HereLater bool
	// ICMP tries to open, and closes, the ICMP socket the ping nodes of
	// one family (IPv6 when v6) are pinged with (ping.CanListen); nil
	// means the ping nodes are not checked (a reader that never pings).
	ICMP func(v6 bool) error
}

func systemInterfaces() ([]string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ifs))
	for i, ifc := range ifs {
		names[i] = ifc.Name
	}
	return names, nil
}

// Load reads and checks DIR/ha.cf, DIR/authkeys and DIR/haresources. It
// returns every error and warning found, ordered by file and line, and a
// Config only when there is no error.
func Load(dir string, opts LoadOptions) (*Config, []Diag) {
	hacfPath := filepath.Join(dir, HaCfFile)
	authPath := filepath.Join(dir, AuthkeysFile)
	resPath := filepath.Join(dir, HaresourcesFile)
	var all []Diag
	node := strings.ToLower(opts.Node)

	// ha.cf
	var cfg *Config
	if f, err := os.Open(hacfPath); err != nil {
		all = append(all, openDiag(hacfPath, err))
	} else {
		p := parseHaCf(hacfPath, f)
		f.Close()
		cfg = p.c
		all = append(all, p.d.list...)
		all = append(all, checkThisNode(hacfPath, p, node)...)
		all = append(all, checkInterfaces(cfg, opts)...)
		all = append(all, checkPingSockets(cfg, opts)...)
		all = append(all, checkLogFiles(hacfPath, p)...)
		all = append(all, checkEtcdFiles(hacfPath, p, opts)...)
		all = append(all, checkFenceAWS(cfg, opts.Lookup.Agents)...)
		all = append(all, checkFenceCommand(cfg)...)
	}

	// authkeys
	var auth Auth
	if f, err := os.Open(authPath); err != nil {
		all = append(all, openDiag(authPath, err))
	} else {
		if fi, err := f.Stat(); err == nil {
			if perm := fi.Mode().Perm(); perm&0o077 != 0 {
				all = append(all, Diag{Pos: Pos{File: authPath}, Severity: SevError,
					Msg: fmt.Sprintf("mode %04o allows group/others access; must be 0600 (chmod 600 %s)", perm, authPath)})
			}
		}
		var ds []Diag
		auth, ds = ParseAuthkeys(authPath, f)
		f.Close()
		all = append(all, ds...)
		all = append(all, weakKeyRules(auth, cfg != nil && cfg.InsecureAuth, opts.Strict)...)
	}

	// haresources
	var groups []Group
	if f, err := os.Open(resPath); err != nil {
		all = append(all, openDiag(resPath, err))
	} else {
		var ds []Diag
		groups, ds = ParseHaresources(resPath, f, opts.Lookup.Agents)
		f.Close()
		all = append(all, ds...)
		d := diags{file: resPath}
		for gi := range groups {
			g := &groups[gi]
			if cfg != nil && len(cfg.Nodes) > 0 && !slices.Contains(cfg.Nodes, g.Preferred) {
				d.errorf(g.Pos.Line, "preferred node %s is not a node of %s (nodes: %s); fix the name or add it to a `node` line",
					g.Preferred, hacfPath, strings.Join(cfg.Nodes, ", "))
			}
			for ri := range g.Resources {
				r := &g.Resources[ri]
				script, err := opts.Lookup.Resolve(dir, r.Name)
				if err != nil {
					d.errorf(g.Pos.Line, "%v", err)
					continue
				}
				r.Script = script
				if !opts.HereLater {
					for _, msg := range checkHere(*r, opts) {
						d.warnf(g.Pos.Line, "%s", msg)
					}
				}
			}
		}
		all = append(all, d.list...)
		if cfg != nil {
			all = append(all, resolveMonitors(cfg, groups)...)
			all = append(all, resolveExclusive(cfg, groups)...)
		}
	}

	all = append(all, checkTrustedFiles(dir, cfg, groups)...)
	all = append(all, checkEtcd(hacfPath, cfg, groups)...)
	sortDiags(all, []string{hacfPath, authPath, resPath})
	if cfg == nil || HasErrors(all) {
		return nil, all
	}
	cfg.Dir = dir
	cfg.ThisNode = node
	cfg.Auth = auth
	cfg.Groups = groups
	return cfg, all
}

func openDiag(path string, err error) Diag {
	msg := fmt.Sprintf("cannot read %s: %v", filepath.Base(path), err)
	if errors.Is(err, fs.ErrNotExist) {
		msg = fmt.Sprintf("%s is missing; every node needs ha.cf, authkeys and haresources (a commented sample is in etc/ha.d of the hbd sources)", filepath.Base(path))
	}
	return Diag{Pos: Pos{File: path}, Severity: SevError, Msg: msg}
}

func checkThisNode(file string, p *hacfParser, node string) []Diag {
	d := diags{file: file}
	switch {
	case node == "":
		d.errorf(0, "no node name to check against: pass --node NAME")
	case len(p.c.Nodes) == 0:
		// ParseHaCf already says there are no node lines.
	case slices.Contains(p.c.Nodes, node):
	case unsetHostname(node):
		// The machine's name is not set yet (at boot, before the
		// hostname or DHCP is applied): a retry may find it set.
		d.machinef(p.firstNodeLine, "this machine's name is %q, what it is called before its own name is set; hbd run refuses to start until `uname -n` is one of the nodes (%s): set it (hostnamectl hostname NAME), or run with --node NAME",
			node, strings.Join(p.c.Nodes, ", "))
	default:
		// A typo in a node line or in --node, or files meant for
		// another machine: a retry meets the same names.
		d.errorf(p.firstNodeLine, "this node %q is not listed in a `node` line (nodes: %s); add it, or run with --node NAME if `uname -n` is not its cluster name",
			node, strings.Join(p.c.Nodes, ", "))
	}
	return d.list
}

// unsetHostname: name is what a machine is called before its own name is
// set: the kernel's "(none)", systemd's fallback "localhost" and the
// loopback names of /etc/hosts.
func unsetHostname(name string) bool {
	switch strings.ToLower(name) {
	case "(none)", "localhost", "localhost.localdomain", "localhost6", "localhost6.localdomain6":
		return true
	}
	return false
}

func checkInterfaces(c *Config, opts LoadOptions) []Diag {
	if len(c.Media) == 0 {
		return nil
	}
	list := opts.Interfaces
	if list == nil {
		list = systemInterfaces
	}
	d := diags{file: c.Media[0].Pos.File}
	have, err := list()
	if err != nil {
		d.warnf(0, "cannot list this machine's network interfaces (%v); media interfaces not checked", err)
		return d.list
	}
	reported := map[string]bool{}
	for _, m := range c.Media {
		if slices.Contains(have, m.Iface) || reported[m.Iface] {
			continue
		}
		reported[m.Iface] = true
		msg := fmt.Sprintf("%s: interface %s does not exist on this machine (it has: %s)", m.Kind, m.Iface, strings.Join(have, ", "))
		if opts.Strict && !opts.AnyMachine {
			d.machinef(m.Pos.Line, "%s; hbd run refuses to start while it is missing: fix the name, or start hbd once it exists (one made at boot, a VLAN, a bond or a bridge: order the heartbeat service after it)", msg)
		} else {
			d.warnf(m.Pos.Line, "%s; `hbd run` refuses to start on a machine without it: fix the name or bring the interface up before starting hbd", msg)
		}
	}
	return d.list
}

// checkHere asks the built-in agent that runs r what a start of it would
// meet on this machine (agents.Agent.Here: an interface that is not
// there), with `hbd run`'s rules only (Strict) and not for another
// machine (AnyMachine). Warnings: an interface may be made later.
func checkHere(r Resource, opts LoadOptions) []string {
	if !opts.Strict || opts.AnyMachine || r.Script.Kind != ScriptBuiltin {
		return nil
	}
	a, ok := opts.Lookup.Agents.Lookup(r.Name)
	if !ok || a.Here == nil {
		return nil
	}
	return a.Here(r.Name, r.Args)
}

// CheckHere is what Load says of cfg's resources on this machine unless
// opts.HereLater (checkHere): a warning at its haresources line for each
// thing a start would meet.
func CheckHere(cfg *Config, opts LoadOptions) []Diag {
	var all []Diag
	for _, g := range cfg.Groups {
		d := diags{file: g.Pos.File}
		for _, r := range g.Resources {
			for _, msg := range checkHere(r, opts) {
				d.warnf(g.Pos.Line, "%s", msg)
			}
		}
		all = append(all, d.list...)
	}
	return all
}

// sortDiags orders diagnostics by file (in the given order) and line,
// keeping the order of findings on the same line.
func sortDiags(ds []Diag, files []string) {
	rank := func(f string) int {
		if i := slices.Index(files, f); i >= 0 {
			return i
		}
		return len(files)
	}
	sort.SliceStable(ds, func(i, j int) bool {
		ri, rj := rank(ds[i].Pos.File), rank(ds[j].Pos.File)
		if ri != rj {
			return ri < rj
		}
		return ds[i].Pos.Line < ds[j].Pos.Line
	})
}
