package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hbdproject/hbd/resources/agents"
)

// runAgent runs a built-in resource agent as a resource script:
// `hbd agent NAME ARGS... start|stop|status|monitor`, or hbd installed
// (linked) as resource.d/NAME, in which case legacyName sends us here
// without NAME and argv[0] names the agent. `hbd agent --list` prints
// the agents, `hbd agent --programs` the names to link hbd under.
func runAgent(args []string, stdout, stderr io.Writer) int {
	reg := builtinAgents()
	if a, ok := agentProgram(os.Args[0]); ok {
		return a.Main(filepath.Base(os.Args[0]), args, stdout, stderr)
	}
	// The agents parse their own arguments; only the first one, the
	// agent's name or one of our flags, is ours.
	fs := newFlags("agent", agentUsage(reg), stdout, stderr)
	list := fs.Bool("list", false, "print the built-in agents, one a line")
	programs := fs.Bool("programs", false, "print the names hbd acts as an agent under when linked so (resource.d/NAME), one a line")
	if code, ok := fs.parse(args[:min(len(args), 1)]); !ok {
		return code
	}
	switch {
	case *list:
		fmt.Fprintln(stdout, strings.Join(reg.Shown(), "\n"))
		return 0
	case *programs:
		fmt.Fprintln(stdout, strings.Join(reg.Programs(), "\n"))
		return 0
	case len(args) == 0:
		return fs.usageError("no agent named")
	}
	name, rest := args[0], args[1:]
	if a, ok := reg.Lookup(name); ok {
		return a.Main(name, rest, stdout, stderr)
	}
	return fs.usageError("no built-in agent %q", name)
}

// agentUsage is `hbd agent -h`, naming the agents of reg.
func agentUsage(reg *agents.Registry) string {
	progs := reg.Programs()
	linked := strings.Join(progs, " or ")
	if n := len(progs); n > 2 {
		linked = strings.Join(progs[:n-1], ", ") + " or " + progs[n-1]
	}
	return fmt.Sprintf(`usage: hbd agent NAME ARGS... start|stop|status|monitor
       hbd agent --list | --programs
Runs a built-in resource agent the way a resource script is run, e.g.
  hbd agent IPaddr2 10.0.0.5/24/eth0 start
Agents: %s.
Installed (linked) as resource.d/%s, hbd runs that
agent directly.`, strings.Join(reg.Shown(), ", "), linked)
}
