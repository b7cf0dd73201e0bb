// Package agents is the registry of the resource agents built into hbd.
//
// Each agent package describes itself as an Agent: its name, how it
// checks a resource's arguments (with the very parser it runs with, so
// `hbd check` refuses exactly what the agent would refuse at start), how
// it runs as a resource script, and what more it offers in process. The
// hbd command builds one Registry from the agent packages; config (to
// check and resolve haresources), harc (through config's Lookup), the
// daemon (to keep addresses in place) and the CLI (`hbd agent NAME`) ask
// it, so none of them imports an agent. This package imports nothing of
// hbd: it sits below everything that uses it.
package agents

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// Agent is one resource agent compiled into hbd.
type Agent struct {
	// Name is how haresources names the agent (IPaddr2, awseip). For a
	// Family it is the word before the first colon of every name it
	// runs (ocf for ocf:heartbeat:IPaddr2).
	Name string
	// Family says the agent runs programs found on disk, one for each
	// name NAME:...; Locate finds the program of a name.
	Family bool
	// Form is how a list of agents shows the agent (ocf:PROVIDER:TYPE);
	// empty means Name.
	Form string
	// Program says hbd acts as this agent when it is installed (linked)
	// under the agent's Name, as resource.d/NAME is for Heartbeat.
	Program bool

	// Check says whether a resource's arguments (the words between `::`
	// after the name, as written in haresources) are what the agent
	// takes, with the agent's own parser. name is the resource's name.
	Check func(name string, args []string) error
	// Locate returns the program a Family's name stands for, checking
	// that it is installed. The error is worded for a person.
	Locate func(name string, args []string) (string, error)
	// Validate, when set, checks a resource against what is installed
	// on this machine (an OCF agent's parameters against its meta-data)
	// and returns the problems, one sentence each. It may run programs:
	// `hbd check` calls it, the daemon does not.
	Validate func(ctx context.Context, name string, args []string) []string
	// Here, when set, checks a resource against this machine as the
	// agent's start would find it (an interface it names that is not
	// there) and returns what would make the start fail, one sentence
	// each. It only reads, quickly, and runs no program: `hbd check`
	// and the daemon, at its start and at each reload, warn with it
	// (never refuse: what is missing may come later).
	Here func(name string, args []string) []string
	// Main runs the agent as a resource script, `hbd agent NAME ARGS...
	// OP`, and returns its exit code.
	Main func(name string, args []string, stdout, stderr io.Writer) int
	// Run, when set, runs the agent as Main does but in the caller's
	// process (the daemon, without a fork and exec): the same arguments,
	// output and exit codes, bounded by ctx. An agent offers it only when
	// it is safe there: no process-wide state, no blocking past ctx.
	Run func(ctx context.Context, name string, args []string, o RunOptions) int
	// Converges says the agent's start brings about what it holds from
	// any state (the address on its interface, whether or not it was
	// there, and announced) and never starts a second copy of anything:
	// a resource runner may start it without asking its status first,
	// which is one operation less between a takeover and the service.
	Converges bool
	// Keep, when set, returns an in-process Keeper of what a resource
	// holds (an address on its interface) for a daemon that holds it.
	Keep func(name string, args []string, o KeepOptions) (Keeper, error)
	// Address, when set, recognises a resource that holds an IP address
	// by its name and arguments, whoever runs it (this agent, a script of
	// that name in resource.d, an OCF agent), and returns an Announcer of
	// it; ok is false for a resource that is not an address.
	Address func(name string, args []string, o KeepOptions) (a Announcer, ok bool, err error)
	// Fence, when set, fences a node through the cloud API the agent
	// drives; FenceMethod names it as ha.cf does (aws for fence_aws), and
	// CheckFence checks a request's ids and region with the agent's own
	// parsers, for `hbd check`.
	Fence       func(ctx context.Context, r FenceRequest) (detail string, err error)
	FenceMethod string
	CheckFence  func(r FenceRequest) error
}

// FenceRequest is one fencing of a silent node through a cloud API:
// stop its instance, or move an address from it to this node.
type FenceRequest struct {
	// Action is what to do: FenceStop or FenceReassociate.
	Action string
	// Node is the node being fenced and Target its instance; Self is
	// this node's instance (FenceReassociate).
	Node, Target, Self string
	// AllocationID is the address moved by FenceReassociate.
	AllocationID string
	// Region ("" : the instance's own) and Endpoint ("" : the API's
	// default) say where the API is.
	Region, Endpoint string
}

// The actions of a FenceRequest.
const (
	FenceStop        = "stop-instance"
	FenceReassociate = "reassociate"
)

// KeepOptions are what a Keeper needs from the daemon.
type KeepOptions struct {
	// StateDir is the resource agents' scratch directory (HA_RSCTMP).
	StateDir string
	// Log receives the keeper's log lines.
	Log logrus.FieldLogger
	// Wake, when set, is the keeper's clock: it looks for what it keeps
	// each time one is sent (every KeepCheck), and uses no timer of its
	// own. Nil: it keeps its own time.
	Wake <-chan time.Time
}

// KeepCheck is how often a daemon that gives KeepOptions.Wake sends on
// it: as often as a keeper looks by itself (resources/ipaddr's
// DefaultCheck).
const KeepCheck = 5 * time.Second

// RunOptions are what an agent run in the daemon's process gets in
// place of a program's environment and standard files.
type RunOptions struct {
	// StateDir is the resource agents' scratch directory (HA_RSCTMP).
	StateDir string
	// Debug is HA_debug: log at debug level too.
	Debug bool
	// Stdout and Stderr receive what the program would print there.
	Stdout, Stderr io.Writer
	// Drain, for a stop, says the release is planned (a graceful stop, a
	// standby, a failback, a takeover command): an agent that holds an
	// address may wait up to Drain for the connections in flight on it
	// to finish before it removes it. 0: no wait (a release at once,
	// or ha.cf's drain_time 0).
	Drain time.Duration
	// Taker, for a stop, says the release is planned too, and names the
	// node expected to take the resource next and announce its address:
	// an agent that holds an address hands the frames that still reach
	// this node after the removal over to the node that announces it
	// (see Linger), whether it drained first or not (drain_time 0).
	// "": no node will (a release at once, the last node of the cluster
	// stops, or none may take the group), and nothing is handed over.
	Taker string
	// Linger, when not nil, is told of work the agent leaves running
	// after it returns (a planned release's handover of the frames that
	// reach the old holder: resources/ipaddr), done closed when that
	// work ends (by itself, within a bound), so that the process can
	// wait for it before it exits.
	Linger func(done <-chan struct{})
}

// Announcer tells the network where an address held here is
// (gratuitous ARP, unsolicited neighbour advertisement).
type Announcer interface {
	// Announce tells the network again where the resource is.
	Announce(ctx context.Context) error
	// Close releases what the announcer holds.
	Close() error
}

// Keeper keeps what a started resource holds in place while its group
// is held here.
type Keeper interface {
	Announcer
	// Keep mends what goes missing until ctx is done.
	Keep(ctx context.Context) error
}

// Shown is how a list of agents shows a.
func (a Agent) Shown() string {
	if a.Form != "" {
		return a.Form
	}
	return a.Name
}

// Registry is the set of agents built into a program. A nil Registry has
// no agents.
type Registry struct {
	list []Agent
}

// New returns the registry of list, in that order. A name given twice,
// an empty name or an agent without Main is a mistake in the program's
// wiring, not in any input: New panics on it.
func New(list ...Agent) *Registry {
	seen := map[string]bool{}
	for _, a := range list {
		switch {
		case a.Name == "" || strings.ContainsAny(a.Name, ":/ \t"):
			panic(fmt.Sprintf("agents: bad agent name %q", a.Name))
		case seen[a.Name]:
			panic(fmt.Sprintf("agents: agent %s registered twice", a.Name))
		case a.Main == nil:
			panic(fmt.Sprintf("agents: agent %s has no Main", a.Name))
		case a.Family && a.Locate == nil:
			panic(fmt.Sprintf("agents: family %s has no Locate", a.Name))
		}
		seen[a.Name] = true
	}
	return &Registry{list: append([]Agent(nil), list...)}
}

// Lookup returns the agent that runs a resource named name: the agent of
// that name, or the Family whose Name is the word before its first
// colon.
func (r *Registry) Lookup(name string) (Agent, bool) {
	if r == nil {
		return Agent{}, false
	}
	family, _, hasColon := strings.Cut(name, ":")
	for _, a := range r.list {
		if a.Family {
			if hasColon && a.Name == family {
				return a, true
			}
		} else if a.Name == name {
			return a, true
		}
	}
	return Agent{}, false
}

// Program returns the agent hbd acts as when it runs under the name
// base (installed as resource.d/IPaddr2, for instance).
func (r *Registry) Program(base string) (Agent, bool) {
	a, ok := r.Lookup(base)
	if !ok || !a.Program {
		return Agent{}, false
	}
	return a, true
}

// Address returns an Announcer for a resource that holds an IP address
// (a bare IP, IPaddr, IPaddr2, IPv6addr, ocf:heartbeat:IPaddr2 and the
// like, built in or a script), as the first agent that recognises it
// says; ok is false when no agent does. err says why a resource
// recognised as an address cannot be announced (bad arguments).
func (r *Registry) Address(name string, args []string, o KeepOptions) (a Announcer, ok bool, err error) {
	if r == nil {
		return nil, false, nil
	}
	for _, ag := range r.list {
		if ag.Address == nil {
			continue
		}
		if a, ok, err := ag.Address(name, args, o); ok || err != nil {
			return a, ok, err
		}
	}
	return nil, false, nil
}

// Fencer returns the agent that provides the fence method (aws).
func (r *Registry) Fencer(method string) (Agent, bool) {
	if r == nil {
		return Agent{}, false
	}
	for _, a := range r.list {
		if a.Fence != nil && a.FenceMethod == method {
			return a, true
		}
	}
	return Agent{}, false
}

// Shown lists the agents as a person writes them, in registry order:
// IPaddr, IPaddr2, ..., ocf:PROVIDER:TYPE.
func (r *Registry) Shown() []string {
	if r == nil {
		return nil
	}
	out := make([]string, len(r.list))
	for i, a := range r.list {
		out[i] = a.Shown()
	}
	return out
}

// Programs lists the names hbd answers to as a program (what make
// install links into resource.d), in registry order.
func (r *Registry) Programs() []string {
	if r == nil {
		return nil
	}
	var out []string
	for _, a := range r.list {
		if a.Program {
			out = append(out, a.Name)
		}
	}
	return out
}

// JoinIPv6 undoes what haresources' `::` separator does to an IPv6
// address: `IPaddr2::fd00::5/64/eth0` arrives as "fd00", "5/64/eth0",
// and `ip=fd00::5` as "ip=fd00", "5". A word without `=` that, joined to
// the word (or the value of the NAME=VALUE word) before it with `::`,
// makes an IPv6 address (possibly followed by /... or %...) is joined
// back to it. Every other word is kept as it is.
func JoinIPv6(args []string) []string {
	out := make([]string, 0, len(args))
	for _, w := range args {
		if n := len(out); n > 0 && !strings.Contains(w, "=") {
			prev := out[n-1]
			if _, v, ok := strings.Cut(prev, "="); ok {
				prev = v
			}
			if continuesIPv6(prev, w) {
				out[n-1] += "::" + w
				continue
			}
		}
		out = append(out, w)
	}
	return out
}

// continuesIPv6 reports whether prev + "::" + w is an IPv6 address,
// possibly followed by a /prefix or more /parts or a %zone. prev must be
// the start of the address alone: what follows an address ends it.
func continuesIPv6(prev, w string) bool {
	if strings.ContainsAny(prev, "/%") {
		return false
	}
	s := prev + "::" + w
	if i := strings.IndexAny(s, "/%"); i >= 0 {
		s = s[:i]
	}
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6()
}
