package main

import (
	"fmt"
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

// agentCommand is how harc runs a built-in agent: this very binary.
func agentCommand() []string {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return []string{exe, "agent"}
}

// loadOptions are the config.Load options every command uses.
func loadOptions(node string, strict bool) config.LoadOptions {
	return config.LoadOptions{Node: node, StrictInterfaces: strict, Lookup: config.Lookup{Builtins: builtinAgents()}}
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
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: hbd agent NAME ARGS... start|stop|status|monitor (agents: IPaddr, IPaddr2, awseip, service, ocf:PROVIDER:TYPE)")
		return 2
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
	fmt.Fprintf(stderr, "hbd agent: no built-in agent %q (agents: IPaddr, IPaddr2, awseip, service, ocf:PROVIDER:TYPE)\n", name)
	return 2
}
