// Package ocf runs OCF resource agents (the resource-agents package's
// /usr/lib/ocf/resource.d/PROVIDER/TYPE) as haresources resources.
//
// In haresources an OCF agent is written
//
//	ocf:PROVIDER:TYPE[::NAME=VALUE...]
//
// for instance `ocf:heartbeat:IPaddr2::ip=10.0.0.5::cidr_netmask=24`.
// Through the registry entry Agents, config.Load checks the syntax
// (Parse) and that the agent is an executable file (Locate), and
// resolves the resource to the agent's program
// (config.ScriptOCF, ROOT/resource.d/PROVIDER/TYPE); harc then runs
// `hbd agent ocf:PATH NAME=VALUE... OP`, which lands in Main.
//
// Main runs the agent with the OCF environment (OCF_ROOT,
// OCF_RESKEY_NAME=VALUE for each parameter, OCF_RESOURCE_INSTANCE,
// OCF_RESOURCE_TYPE, OCF_RESOURCE_PROVIDER, OCF_RA_VERSION_MAJOR/MINOR)
// and the action as its only argument. Heartbeat's `status` is OCF's
// `monitor`. The agent's own stdout goes to stderr (harc logs it at debug
// level), so that stdout carries only what harc's status rule reads:
// `running` (exit 0) or `stopped` (exit 3) for status and monitor.
package ocf
