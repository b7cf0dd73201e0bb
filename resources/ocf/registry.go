package ocf

import "github.com/hbdproject/hbd/resources/agents"

// Agents are the runner's entry in hbd's registry, for every
// ocf:PROVIDER:TYPE name: hbd checks haresources with Parse, finds the
// agent's program under root (DefaultRoot if empty) with Locate, and
// runs it with Main.
func Agents(root string) []agents.Agent {
	return []agents.Agent{{
		Name:   "ocf",
		Family: true,
		Form:   Prefix + "PROVIDER:TYPE",
		Check: func(name string, args []string) error {
			_, err := Parse(root, name, args)
			return err
		},
		Locate: func(name string, args []string) (string, error) { return Locate(root, name, args) },
		Main:   Main,
	}}
}
