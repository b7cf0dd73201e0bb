// Package builtin names the resource agents compiled into hbd, once: the
// hbd command hands this registry to config, harc, the daemon and `hbd
// agent`, and tests that need the real agents take it from here too.
package builtin

import (
	"slices"

	"github.com/hbdproject/hbd/resources/agents"
	"github.com/hbdproject/hbd/resources/awseip"
	"github.com/hbdproject/hbd/resources/ipaddr"
	"github.com/hbdproject/hbd/resources/ocf"
	"github.com/hbdproject/hbd/resources/service"
)

// Agents returns the registry of hbd's agents: IPaddr, IPaddr2, awseip,
// service, and ocf:PROVIDER:TYPE for the OCF agents under ocfRoot (empty
// means /usr/lib/ocf).
func Agents(ocfRoot string) *agents.Registry {
	return agents.New(slices.Concat(ipaddr.Agents(), awseip.Agents(), service.Agents(), ocf.Agents(ocfRoot))...)
}
