package harc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// procStat is what harc reads of /proc/PID/stat.
type procStat struct {
	state   byte   // R, S, D, Z, X, ...
	pgrp    int    // process group
	session int    // session id
	start   uint64 // start time, clock ticks after boot (field 22)
}

// maxStat bounds one read of /proc/PID/stat (its comm is at most 64
// bytes; the rest is about 50 numbers).
const maxStat = 4096

// readProcStat reads /proc/PID/stat. ok is false when the process does
// not exist (any more) or the file cannot be read as one.
func readProcStat(pid int) (procStat, bool) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	defer f.Close()
	b := make([]byte, maxStat)
	n, _ := f.Read(b)
	st, err := parseProcStat(b[:n])
	return st, err == nil
}

// parseProcStat reads "pid (comm) state ppid pgrp session ... starttime
// ...": comm may hold spaces and ')', so the fields are counted from
// the last ')'.
func parseProcStat(b []byte) (procStat, error) {
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("no ')' after the command name")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): field 22 (starttime) is f[19].
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("%d fields after the command name, want at least 20", len(f))
	}
	st := procStat{state: f[0][0]}
	var err error
	if st.pgrp, err = strconv.Atoi(f[2]); err != nil {
		return procStat{}, fmt.Errorf("process group: %w", err)
	}
	if st.session, err = strconv.Atoi(f[3]); err != nil {
		return procStat{}, fmt.Errorf("session: %w", err)
	}
	if st.start, err = strconv.ParseUint(f[19], 10, 64); err != nil {
		return procStat{}, fmt.Errorf("start time: %w", err)
	}
	return st, nil
}

// live says the process can still run: neither a zombie nor dead.
func (s procStat) live() bool { return s.state != 'Z' && s.state != 'X' }

// procPIDs lists the pids in /proc. Without /proc it returns the error.
func procPIDs() ([]int, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if n[0] < '0' || n[0] > '9' {
			continue
		}
		if pid, err := strconv.Atoi(n); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
