package ocf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hbdproject/hbd/resources/agents"
)

// DefaultRoot is OCF_ROOT when nothing else is said.
const DefaultRoot = "/usr/lib/ocf"

// Prefix starts every OCF resource name in haresources.
const Prefix = "ocf:"

// Param is one NAME=VALUE parameter, passed as OCF_RESKEY_NAME=VALUE.
type Param struct {
	Name, Value string
}

// Agent is one OCF resource: which agent, with which parameters.
type Agent struct {
	Root     string  // OCF_ROOT; the agent is Root/resource.d/Provider/Type
	Provider string  // e.g. heartbeat
	Type     string  // e.g. IPaddr2
	Params   []Param // in the order written
}

// IsName reports whether a haresources resource name is an OCF agent's.
func IsName(name string) bool { return strings.HasPrefix(name, Prefix) }

// Parse reads an OCF resource as harc passes it to `hbd agent`: name is
// "ocf:PROVIDER:TYPE" (the agent under root, DefaultRoot if empty) or
// "ocf:/ROOT/resource.d/PROVIDER/TYPE" (an absolute path, as config.Load
// resolves it; root is then ignored), args are the `::`-separated words
// after it. Each is NAME=VALUE; a word without `=` that continues an IPv6
// address in the value before it (`ip=fd00::5` arrives as "ip=fd00", "5")
// is joined back to it. Parse checks the syntax only; Check looks at the
// file.
func Parse(root, name string, args []string) (Agent, error) {
	rest, ok := strings.CutPrefix(name, Prefix)
	if !ok {
		return Agent{}, fmt.Errorf("%q is not an OCF resource name (ocf:PROVIDER:TYPE)", name)
	}
	var a Agent
	if strings.HasPrefix(rest, "/") {
		p := filepath.Clean(rest)
		typ, prov := filepath.Base(p), filepath.Base(filepath.Dir(p))
		rd := filepath.Dir(filepath.Dir(p))
		if filepath.Base(rd) != "resource.d" {
			return Agent{}, fmt.Errorf("OCF agent path %s is not ROOT/resource.d/PROVIDER/TYPE", p)
		}
		a = Agent{Root: filepath.Dir(rd), Provider: prov, Type: typ}
	} else {
		prov, typ, ok := strings.Cut(rest, ":")
		if !ok {
			return Agent{}, fmt.Errorf("OCF resource %q needs a provider and a type: ocf:PROVIDER:TYPE, e.g. ocf:heartbeat:IPaddr2", name)
		}
		if root == "" {
			root = DefaultRoot
		}
		a = Agent{Root: root, Provider: prov, Type: typ}
	}
	for _, part := range []struct{ what, v string }{{"provider", a.Provider}, {"type", a.Type}} {
		if why := badPathPart(part.v); why != "" {
			return Agent{}, fmt.Errorf("OCF resource %q: %s %q %s (ocf:PROVIDER:TYPE, e.g. ocf:heartbeat:IPaddr2)", name, part.what, part.v, why)
		}
	}
	params, err := parseParams(args)
	if err != nil {
		return Agent{}, fmt.Errorf("OCF resource %s: %w", a.spec(), err)
	}
	a.Params = params
	return a, nil
}

func badPathPart(s string) string {
	switch {
	case s == "":
		return "is empty"
	case s == "." || s == "..":
		return "is not a name"
	case strings.ContainsAny(s, "/:\\ \t"):
		return "may not contain `/`, `:`, `\\` or spaces"
	}
	return ""
}

// parseParams reads NAME=VALUE words, joining back IPv6 addresses that
// the `::` separator split.
func parseParams(args []string) ([]Param, error) {
	var ps []Param
	seen := map[string]bool{}
	for i, w := range agents.JoinIPv6(args) {
		name, value, ok := strings.Cut(w, "=")
		if !ok {
			return nil, fmt.Errorf("argument %d %q is not NAME=VALUE (e.g. ip=10.0.0.5)", i+1, w)
		}
		if !validName(name) {
			return nil, fmt.Errorf("argument %d %q: %q is not a parameter name (letters, digits and _, not starting with a digit)", i+1, w, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("parameter %s is given twice", name)
		}
		seen[name] = true
		ps = append(ps, Param{name, value})
	}
	return ps, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Path is the agent's executable: Root/resource.d/Provider/Type.
func (a Agent) Path() string {
	return filepath.Join(a.Root, "resource.d", a.Provider, a.Type)
}

// spec is how the agent is written in haresources, without parameters.
func (a Agent) spec() string { return Prefix + a.Provider + ":" + a.Type }

// Instance is OCF_RESOURCE_INSTANCE: TYPE_VALUE with the value of the
// first parameter (characters other than letters, digits and `.:-`
// replaced by `_`, at most 64 of them), as Heartbeat named its agents'
// instances (`IPaddr_10.99.0.100`); just TYPE without parameters. It
// depends only on what is written in haresources, so every run of the
// same resource — start, status, stop, on any node — has the same one.
func (a Agent) Instance() string {
	if len(a.Params) == 0 {
		return a.Type
	}
	v := []rune(a.Params[0].Value)
	if len(v) > 64 {
		v = v[:64]
	}
	for i, c := range v {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == ':', c == '-':
		default:
			v[i] = '_'
		}
	}
	return a.Type + "_" + string(v)
}

// ErrNotInstalled says the agent's file is missing (OCF_ERR_INSTALLED).
var ErrNotInstalled = errors.New("OCF agent not installed")

// Check says whether the agent is a regular, executable file. A missing
// file is ErrNotInstalled.
func (a Agent) Check() error {
	p := a.Path()
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%w: %s does not exist (is the resource-agents package installed? see ls %s)", ErrNotInstalled, p, filepath.Dir(p))
	case err != nil:
		return fmt.Errorf("OCF agent %s: %w", p, err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("OCF agent %s is not a regular file", p)
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("OCF agent %s is not executable (chmod 755 %s)", p, p)
	}
	return nil
}

// Locate checks an OCF resource as written in haresources (name and its
// `::` arguments) against root (DefaultRoot if empty) and returns the
// agent's path. The error is worded for a person.
func Locate(root, name string, args []string) (string, error) {
	a, err := Parse(root, name, args)
	if err != nil {
		return "", err
	}
	if err := a.Check(); err != nil {
		return "", err
	}
	return a.Path(), nil
}
