package main

import (
	"fmt"
	"io"
	"net"
	"os"
)

// notifySocketEnv names the socket on which systemd, for a unit of
// Type=notify, waits to hear that the service is ready (sd_notify(3)).
const notifySocketEnv = "NOTIFY_SOCKET"

// readyNotifier returns what tells the service manager that the daemon
// serves (daemon.Options.Ready), or nil when none asks (no
// NOTIFY_SOCKET). With init/heartbeat.service's Type=notify,
// `systemctl start` then waits for it and fails when hbd exits first (a
// refused start, a medium that cannot be opened), instead of reporting
// success for a daemon that is already gone. The variable stays set
// until then: a build without the etcd backend hands the start on to
// hbd-etcd (execEtcd), which says it is ready in its turn. Once said,
// it is removed from the environment: the resource scripts and what
// they start are not this service.
func readyNotifier(stderr io.Writer) func() {
	socket := os.Getenv(notifySocketEnv)
	if socket == "" {
		return nil
	}
	return func() {
		os.Unsetenv(notifySocketEnv)
		if err := sdNotify(socket, "READY=1"); err != nil {
			fmt.Fprintf(stderr, "hbd: could not tell the service manager that hbd is ready: %v\n", err)
		}
	}
}

// sdNotify sends state to the notification socket at path (a name
// starting with @ is an abstract socket, which package net handles).
func sdNotify(path, state string) error {
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("%s=%s: %w", notifySocketEnv, path, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("%s=%s: %w", notifySocketEnv, path, err)
	}
	return nil
}
