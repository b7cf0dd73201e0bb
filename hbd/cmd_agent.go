package main

import (
	"io"
	"os"
	"path/filepath"

	"github.com/hbdproject/hbd/hbd/config"

	"github.com/hbdproject/hbd/resources/awseip"
	"github.com/hbdproject/hbd/resources/ipaddr"
	"github.com/hbdproject/hbd/resources/ocf"
	"github.com/hbdproject/hbd/resources/service"
)

// builtinAgents are the resource agents compiled into hbd: a haresources
// name found neither in resource.d nor in /etc/init.d resolves to one of
// these, and runs as `hbd agent NAME ...`. "ocf" stands for every
// ocf:PROVIDER:TYPE agent (run from /usr/lib/ocf by resources/ocf).
func builtinAgents() []string {
	return []string{ipaddr.NameIPaddr, ipaddr.NameIPaddr2, "awseip", "service", config.OCFBuiltin}
}

// runAgent runs a built-in resource agent as a resource script:
// `hbd agent NAME ARGS... start|stop|status|monitor`, or hbd installed
// (linked) as resource.d/NAME, in which case legacyName sends us here
// without NAME and argv[0] names the agent.
func runAgent(args []string, stdout, stderr io.Writer) int {
	if base := filepath.Base(os.Args[0]); ipaddr.IsName(base) {
		return ipaddr.Main(base, args, stdout, stderr)
	}
	if filepath.Base(os.Args[0]) == "awseip" {
		return awseip.Main(args, stdout, stderr)
	}
	// The agents parse their own arguments; only the first one, the
	// agent's name, is ours.
	fs := newFlags("agent", agentUsage, stdout, stderr)
	if code, ok := fs.parse(args[:min(len(args), 1)]); !ok {
		return code
	}
	if len(args) == 0 {
		return fs.usageError("no agent named")
	}
	name, rest := args[0], args[1:]
	switch {
	case ipaddr.IsName(name):
		return ipaddr.Main(name, rest, stdout, stderr)
	case name == "awseip":
		return awseip.Main(rest, stdout, stderr)
	case name == "service":
		return service.Main(rest, stdout, stderr)
	case ocf.IsName(name):
		return ocf.Main(name, rest, stdout, stderr)
	}
	return fs.usageError("no built-in agent %q", name)
}

const agentUsage = `usage: hbd agent NAME ARGS... start|stop|status|monitor
Runs a built-in resource agent the way a resource script is run, e.g.
  hbd agent IPaddr2 10.0.0.5/24/eth0 start
Agents: IPaddr, IPaddr2, awseip, service, ocf:PROVIDER:TYPE.
Installed (linked) as resource.d/IPaddr, IPaddr2 or awseip, hbd runs that
agent directly.`
