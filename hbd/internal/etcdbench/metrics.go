package etcdbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// requests sums etcd's grpc_server_started_total, by gRPC method: the
// calls the members began, a unary call or a stream. The nodes send one
// request per stream (a renewal is KeepAliveOnce, a watch one create), so
// these are their requests. (grpc_server_msg_received_total counts a
// stream's end as one more message.) The embedded members share one
// process and one metrics registry, so one member's page counts the
// calls of all three.
func requests(ctx context.Context, metricsURL string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read etcd's metrics: %w", err)
	}
	defer resp.Body.Close()
	return parseStarted(resp.Body)
}

// parseStarted reads grpc_server_started_total from Prometheus' text
// format, by grpc_method.
func parseStarted(r io.Reader) (map[string]float64, error) {
	const name = "grpc_server_started_total{"
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	found := false
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		found = true
		labels, value, ok := strings.Cut(line[len(name):], "} ")
		if !ok {
			return nil, fmt.Errorf("metrics line %q: no value", line)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		out[label(labels, "grpc_method")] += v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !found {
		return nil, errNoMetric
	}
	return out, nil
}

// label returns the value of label name in `a="x",b="y"`.
func label(labels, name string) string {
	for _, kv := range strings.Split(labels, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k == name {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

var errNoMetric = errors.New("no grpc_server_started_total in etcd's metrics")

// usage is a process's CPU time so far and its resident memory.
type usage struct {
	cpu time.Duration
	rss int64 // bytes
}

// clockTick is USER_HZ, the unit of /proc/PID/stat's times (100 on every
// Linux architecture Go supports).
const clockTick = 100

// usageOf reads /proc/PID/stat (utime, stime) and /proc/PID/status
// (VmRSS).
func usageOf(pid int) (usage, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return usage{}, err
	}
	// The fields after the command name, which is in parentheses and
	// may hold spaces: state is field 3, utime 14, stime 15.
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return usage{}, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return usage{}, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, f[11], f[12])
	}
	u := usage{cpu: time.Duration(ut+st) * time.Second / clockTick}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return usage{}, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return usage{}, fmt.Errorf("/proc/%d/status: VmRSS %q", pid, rest)
			}
			u.rss = kb * 1024
		}
	}
	return u, nil
}
