package ocf

import (
	"context"
	"fmt"

	"github.com/hbdproject/hbd/resources/agents"
)

// Agents are the runner's entry in hbd's registry, for every
// ocf:PROVIDER:TYPE name: hbd checks haresources with Parse, finds the
// agent's program under root (DefaultRoot if empty) with Locate, and
// runs it with Main; hbd check validates the parameters against the
// agent's meta-data with Validate.
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
		Validate: func(ctx context.Context, name string, args []string) []string {
			a, err := Parse(root, name, args)
			if err != nil {
				return []string{err.Error()}
			}
			m, err := a.Metadata(ctx)
			if err != nil {
				return []string{fmt.Sprintf("%s: its parameters are not checked: %v", name, err)}
			}
			return m.Validate(a)
		},
		Main: Main,
	}}
}
