package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hbdproject/hbd/hbd/config"
)

// etcdProgram is the program that runs `backend etcd`: this main package
// built without -tags noetcd (make build's bin/hbd-etcd), installed
// beside hbd (make install). The installed hbd is built with the tag, so
// that a node with `backend heartbeat` links and initialises nothing of
// etcd's client, gRPC or protobuf (docs/guide-etcd.md, "Two programs").
const etcdProgram = "hbd-etcd"

// execEtcd replaces this process with etcdProgram from the directory of
// this executable (its real path, symbolic links resolved, as
// /proc/self/exe gives it; no PATH lookup), with the same arguments and
// environment, so that the pid the init script or systemd started stays
// the daemon's (daemon.Options.ExecEtcd). The program must pass the rule
// hbd applies to every program it runs as root (config.CheckTrusted): a
// hbd-etcd that someone else owns or could write to, or one that someone
// else could put in a directory writable by others, is refused. It
// returns only the reason it could not.
func execEtcd() error {
	path, err := etcdProgramPath()
	if err == nil {
		err = syscall.Exec(path, os.Args, os.Environ())
		err = fmt.Errorf("this hbd runs it as %s: %w", path, err)
	}
	return err
}

// etcdProgramPath is the etcdProgram that execEtcd would execute, or why
// it cannot: `hbd check` asks too, so that the init script's check before
// a start says what `hbd run` would refuse.
func etcdProgramPath() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("this hbd runs it as %s, beside itself, but cannot tell where it is: %w", etcdProgram, err)
	}
	if filepath.Base(exe) == etcdProgram {
		// A build without the backend installed under its name would
		// execute itself forever.
		return "", fmt.Errorf("%s was built without the etcd backend (go build -tags noetcd); build it without that tag (make build)", exe)
	}
	path := filepath.Join(filepath.Dir(exe), etcdProgram)
	err = config.CheckTrusted(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("this hbd (%s) runs it as %s, which is missing: install it beside hbd (make install does), or use `backend heartbeat`", exe, path)
	}
	if err != nil {
		return "", fmt.Errorf("this hbd (%s) runs it as %s: %w", exe, path, err)
	}
	return path, nil
}

// procComm is the process's name (proc(5)).
const procComm = "/proc/self/comm"

// commLen is the longest name Linux keeps for a process (TASK_COMM_LEN
// less the terminating zero).
const commLen = 15

// keepProcessName gives the process the name of its argv[0] when the
// kernel named it otherwise (comm is procComm but for tests): Linux names a process after the file it
// executes, so after execEtcd the daemon would be "hbd-etcd" to ps,
// pidof and the init script's start-stop-daemon --name (init/heartbeat),
// which look for the "hbd" they started. Writing /proc/self/comm renames
// the process (its first thread), whichever thread writes it. Without
// /proc the name stays (nothing could look it up there either). A rename
// that fails is an error: the daemon would run under a name the init
// script's stop does not find, and `service heartbeat stop` would say it
// was not running while it kept its groups.
func keepProcessName(comm string) error {
	want := filepath.Base(os.Args[0])
	if len(want) > commLen {
		want = want[:commLen]
	}
	b, err := os.ReadFile(comm)
	have := strings.TrimSuffix(string(b), "\n")
	if err != nil || have == want {
		return nil
	}
	if err := os.WriteFile(comm, []byte(want), 0); err != nil {
		return fmt.Errorf("the process is named %q, not %q as it was started (ps, pidof and start-stop-daemon --name look for that): %w", have, want, err)
	}
	return nil
}
