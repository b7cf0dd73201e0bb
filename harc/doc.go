// Package harc (HA resource control) runs what the cluster decides: it
// starts and stops haresources groups with their resource scripts, reads
// their status the way Heartbeat's ResourceManager does, and runs the
// rc.d event hooks.
//
// A resource `NAME::a::b` runs `SCRIPT a b start|stop|status`, SCRIPT
// being DIR/resource.d/NAME or /etc/init.d/NAME (config.Load resolves
// it). A group starts left to right, skipping what its status says already
// runs, and stops right to left. Every script runs in its own process
// group with a timeout; one that overruns is killed with everything it
// started (SIGTERM, then SIGKILL, to the whole group). Its stdout and
// stderr are logged at debug level under its name, and the end of them is
// kept for errors.
//
// A start that fails stops what the group had started, right to left, and
// returns ErrStartFailed. A stop that fails is retried, then its status
// decides: stopped after all (the script is "probably not LSB-compliant"),
// or still running, which is ErrStopFailed: the group must stay held by
// this node until an operator intervenes (StopFailureBlock), or the node
// reboots (StopFailureReboot, Heartbeat's way).
//
// The log lines are Heartbeat's, under the tags Heartbeat's shell tools
// use: "ResourceManager[PID]: info: Acquiring resource group: node1
// IPaddr::10.0.0.1/24/eth0 web", "Running /etc/ha.d/resource.d/IPaddr
// 10.0.0.1/24/eth0 start", "Return code 1 from ...", "CRIT: Giving up
// resources due to failure of ...", and "harc[PID]: info: Running
// /etc/ha.d/rc.d/status status" for hooks. docs/harc.md tells the whole
// story for users.
//
// Files:
//
//	options.go    Options, their defaults, the stop failure policies
//	runner.go     Runner: finding and running one resource's script
//	startstop.go  Start and Stop of a group: rollback, retries, reboot
//	status.go     reading a status run, and the status of a group
//	exec.go       Command: one script in its own process group
//	inprocess.go  built-in agents run inside this process
//	env.go        the scripts' environment; event.go the rc.d hooks
//	errors.go     StartError and StopError; lint.go `hbd check`'s warnings
//	decision.go   WithDecision; release.go WithRelease; fencing.go WithFencingToken
package harc
