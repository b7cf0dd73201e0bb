package service

import (
	"errors"
	"io"

	"github.com/hbdproject/hbd/resources/agents"
)

// Agents are the agent's entry in hbd's registry: hbd checks haresources
// with CheckArgs and runs the agent with Main.
func Agents() []agents.Agent {
	return []agents.Agent{{
		Name:  "service",
		Check: func(_ string, args []string) error { return CheckArgs(args) },
		Main:  func(_ string, args []string, stdout, stderr io.Writer) int { return Main(args, stdout, stderr) },
	}}
}

// CheckArgs checks a service resource's arguments as written in
// haresources: one, the unit or init script (service::nginx).
func CheckArgs(args []string) error {
	if len(args) != 1 {
		return errors.New("service takes one argument, the unit or init script: service::NAME (e.g. service::nginx)")
	}
	return CheckName(args[0])
}
