package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwardedSignals are what `hbd run` as pid 1 passes on to the daemon
// it runs as its child (asInit): the stop (TERM, INT), the reload (HUP)
// and the rest a container runtime or an operator may send. QUIT is
// passed on as any init would, and does to the daemon what it does
// outside a container: the Go runtime's goroutine dump and exit 2, with
// no graceful stop (a container's STOPSIGNAL must be TERM or INT).
func forwardedSignals() []os.Signal {
	return []os.Signal{
		syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH,
	}
}

// asInit is `hbd run` as the pid 1 of its pid namespace (a container's
// entry point): it runs this program again as its only child, with the
// same arguments and environment, and stays a minimal init beside it.
// Every process that ends up without a parent there (a daemon a
// resource script started in the background, then exited) becomes a
// child of pid 1, and only pid 1 may reap it: left a zombie, it would
// look alive for ever to a stop script that checks with kill -0, and its
// group's release would fail. The daemon in the child keeps its own
// waits for the scripts it runs, which a reaper in its process would
// take from it.
//
// It forwards forwardedSignals to the child, reaps every child that
// ends, and returns the daemon's exit status, 128+N after signal N (the
// shell's convention). Its own exit, as pid 1, has the kernel kill what
// still runs in the namespace. ok is false when the child could not be
// started (no /proc): the caller runs the daemon itself, said on
// stderr.
func asInit(stderr io.Writer) (status int, ok bool) {
	sigs := make(chan os.Signal, 16)
	// Before the child exists: a signal sent meanwhile waits for it.
	signal.Notify(sigs, forwardedSignals()...)
	defer signal.Stop(sigs)
	cmd := &exec.Cmd{Path: "/proc/self/exe", Args: os.Args, Env: os.Environ(),
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "hbd: pid 1: cannot start the daemon as a child of its own (%v): running it as pid 1, which reaps no orphan of its scripts\n", err)
		return 0, false
	}
	go func() {
		for s := range sigs {
			// Gone already: the reaper below is about to return.
			_ = cmd.Process.Signal(s)
		}
	}()
	status, err := reapUntil(cmd.Process.Pid)
	if err != nil {
		fmt.Fprintf(stderr, "hbd: pid 1: %v\n", err)
		return 1, true
	}
	return status, true
}

// reapUntil reaps every child of this process as it ends until child
// ends, and returns child's exit status (128+N after signal N).
func reapUntil(child int) (int, error) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("waiting for the daemon (pid %d): %w", child, err)
		}
		if pid != child {
			continue // an orphan, reaped
		}
		switch {
		case ws.Exited():
			return ws.ExitStatus(), nil
		case ws.Signaled():
			return 128 + int(ws.Signal()), nil
		}
	}
}
