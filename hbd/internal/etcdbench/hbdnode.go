package etcdbench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// With Config.Hbd set, each node is a real `hbd run` process with
// `backend etcd`: the same haresources on every node, one group per line,
// each a resource script (resource.d/bench) that reports its start and
// stop, with the time, in the node's events file.

// benchScript is resource.d/bench: `bench GROUP start|stop|status`. A
// group runs while its state file exists; with $SLEEP set
// (Config.StartSleep), a start reports when it began, then sleeps that
// many seconds.
const benchScript = `#!/bin/sh
s="$STATE/$1"
case "$2" in
start)  if [ -n "$SLEEP" ]; then echo "begin $1 ${HA_FENCING_TOKEN:-0} $(date +%s%N)" >> "$EVENTS"; sleep "$SLEEP"; fi
        : > "$s"; echo "start $1 ${HA_FENCING_TOKEN:-0} $(date +%s%N)" >> "$EVENTS" ;;
stop)   rm -f "$s"; echo "stop $1 ${HA_FENCING_TOKEN:-0} $(date +%s%N)" >> "$EVENTS" ;;
status|monitor) if [ -e "$s" ]; then echo running; else echo stopped; exit 3; fi ;;
esac
`

// benchResourceTimeout bounds every script: the lease must be at least
// twice it (hbd check).
const benchResourceTimeout = 2 * time.Second

// hbdNode writes node name's /etc/ha.d (once), clears its groups' state
// (a restart after kill -9 is a reboot: nothing runs), and returns the
// command that runs it and its events file.
func (b *bench) hbdNode(name string) (*exec.Cmd, string, error) {
	dir := filepath.Join(b.cfg.Dir, "nodes", name)
	had, state, events := filepath.Join(dir, "ha.d"), filepath.Join(dir, "groups"), filepath.Join(dir, "events")
	if err := os.RemoveAll(state); err != nil {
		return nil, "", err
	}
	for _, d := range []string{filepath.Join(had, "resource.d"), state, filepath.Join(dir, "run"), filepath.Join(dir, "state")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, "", err
		}
	}
	var hacf, hares strings.Builder
	fmt.Fprintf(&hacf, "logfile %s\nlogfacility none\nnode %s\nauto_failback on\nbackend etcd\netcd_endpoints %s\netcd_prefix /hbd-bench/\netcd_lease %d\nresource_timeout %d\n",
		filepath.Join(dir, "ha-log"), strings.Join(b.names, " "), strings.Join(b.etcd.clients, " "),
		int(b.cfg.TTL/time.Second), int(benchResourceTimeout/time.Second))
	for i := range b.cfg.Groups {
		fmt.Fprintf(&hares, "%s bench::%s\n", preferred(b.names, i), groupName(i))
	}
	files := []struct {
		name, text string
		mode       os.FileMode
	}{
		{"ha.cf", hacf.String(), 0o644},
		{"haresources", hares.String(), 0o644},
		{"authkeys", "auth 1\n1 sha1 hbd-etcdbench-not-used-by-etcd\n", 0o600},
		{"resource.d/bench", benchScript, 0o755},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(had, f.name), []byte(f.text), f.mode); err != nil {
			return nil, "", err
		}
	}
	if f, err := os.OpenFile(events, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
		f.Close()
	} else {
		return nil, "", err
	}
	cmd := exec.Command(b.cfg.Hbd, "run", "-c", had, "--node", name,
		"--run-dir", filepath.Join(dir, "run"), "--state-dir", filepath.Join(dir, "state"))
	cmd.Env = append(os.Environ(), "STATE="+state, "EVENTS="+events)
	if b.cfg.StartSleep > 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("SLEEP=%.3f", b.cfg.StartSleep.Seconds()))
	}
	return cmd, events, nil
}

// follow reads the lines appended to path until done is closed, and
// gives each to line.
func follow(path string, done <-chan struct{}, line func(string)) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	// Seek to the end: a restarted node's earlier lines were read.
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return
	}
	r := bufio.NewReader(f)
	var partial string
	for {
		s, err := r.ReadString('\n')
		partial += s
		if err == nil {
			line(strings.TrimSuffix(partial, "\n"))
			partial = ""
			continue
		}
		select {
		case <-done:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}
