package ipaddr

import (
	"context"

	"github.com/hbdproject/hbd/resources/agents"
)

// Agents are the agent's entries in hbd's registry, one for each of its
// names: hbd checks haresources with Parse, runs the agent with Main
// (also when linked as resource.d/IPaddr or resource.d/IPaddr2), and a
// daemon that holds the address keeps it in place with Watch.
func Agents() []agents.Agent {
	return []agents.Agent{entry(NameIPaddr), entry(NameIPaddr2)}
}

func entry(name string) agents.Agent {
	return agents.Agent{Name: name, Program: true, Check: check, Main: Main, Keep: keep}
}

func check(name string, args []string) error {
	_, err := Parse(name, args)
	return err
}

func keep(name string, args []string, o agents.KeepOptions) (agents.Keeper, error) {
	spec, err := Parse(name, args)
	if err != nil {
		return nil, err
	}
	a, err := New(spec, Options{StateDir: o.StateDir, Log: o.Log})
	if err != nil {
		return nil, err
	}
	return keeper{a}, nil
}

// keeper is an Agent as an agents.Keeper: Keep is Watch with the
// default options.
type keeper struct{ *Agent }

func (k keeper) Keep(ctx context.Context) error { return k.Watch(ctx, WatchOptions{}) }
