// Package paths names where a node keeps hbd's files when no flag says
// otherwise. They are Heartbeat's own places, so an existing Heartbeat
// installation is found where it is; every package and command takes
// its defaults from here.
package paths

// Directories of a node.
const (
	// ConfigDir holds ha.cf, authkeys, haresources, resource.d/ and
	// rc.d/ (hbd's -c, HA_DIR).
	ConfigDir = "/etc/ha.d"
	// RunDir holds the pid file and the control socket (--run-dir).
	RunDir = "/run/heartbeat"
	// StateDir holds what must survive a reboot: hb_uuid and
	// hb_generation (--state-dir, HA_VARLIB).
	StateDir = "/var/lib/heartbeat"
	// InitDir is where init scripts are: the second place a resource
	// script is looked for, and where the service agent finds scripts
	// on a machine without systemd.
	InitDir = "/etc/init.d"
	// RscTmp is resource-agents' scratch directory (HA_RSCTMP) of a node
	// that uses the standard RunDir; a node with another run directory
	// uses RunDir/RscTmpName instead, so nodes sharing a machine do not
	// share it.
	RscTmp     = "/run/resource-agents"
	RscTmpName = "resource-agents"
)

// Folders inside ConfigDir.
const (
	// ResourceDir holds resource scripts (HA_RESOURCEDIR): the first
	// place a haresources name is looked for.
	ResourceDir = "resource.d"
	// RcDir holds the event hooks (HA_RCDIR).
	RcDir = "rc.d"
)
