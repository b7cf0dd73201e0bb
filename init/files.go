// Package initfiles holds hbd's service files: the systemd unit
// (heartbeat.service), the SysV init script (heartbeat), its settings
// file (default, installed as /etc/default/heartbeat) and the logrotate
// configuration (logrotate). `make install` copies them from this
// directory; `hbd install` writes the unit or the init script from the
// copies embedded here, so both install the same files.
package initfiles

import _ "embed"

// SystemdUnit is heartbeat.service.
//
//go:embed heartbeat.service
var SystemdUnit string

// SysVScript is the init script installed as /etc/init.d/heartbeat.
//
//go:embed heartbeat
var SysVScript string

// Default is the settings file installed as /etc/default/heartbeat.
//
//go:embed default
var Default string

// Logrotate is the file installed as /etc/logrotate.d/heartbeat.
//
//go:embed logrotate
var Logrotate string

// The paths the files name, which `hbd install` replaces with its own:
// DefaultBinary, and the configuration directory paths.ConfigDir.
const (
	// DefaultBinary is where the files expect hbd.
	DefaultBinary = "/usr/sbin/hbd"
)
