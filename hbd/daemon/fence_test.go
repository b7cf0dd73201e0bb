package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/resources/agents"
)

func TestFenceCommand(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(dir, "calls")
	script := filepath.Join(dir, "fence")
	body := "#!/bin/sh\necho \"$@\" >> " + record + "\necho fencing \"$2\"\n" +
		"case \"$2\" in node2) exit 0;; slow) sleep 30;; *) echo no such node >&2; exit 3;; esac\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	f := Fencer{Fence: config.FenceConfig{Command: []string{script, "--force"}, Timeout: time.Second}}
	tests := []struct {
		node   string
		ok     bool
		detail string
	}{
		{"node2", true, "fencing node2"},
		{"node3", false, "exit code 3"},
		{"slow", false, "timed out (fence_timeout 1s): process group killed"},
	}
	for _, tt := range tests {
		t.Run(tt.node, func(t *testing.T) {
			start := time.Now()
			ok, detail := f.Run(context.Background(), tt.node)
			if ok != tt.ok || !strings.Contains(detail, tt.detail) {
				t.Errorf("Run(%s) = %v %q, want %v and %q", tt.node, ok, detail, tt.ok, tt.detail)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %v with fence_timeout 1s", took)
			}
		})
	}
	b, _ := os.ReadFile(record)
	if got := string(b); got != "--force node2\n--force node3\n--force slow\n" {
		t.Errorf("recorded calls %q", got)
	}

	// Made writable by others after the load: not run.
	if err := os.Chmod(script, 0o777); err != nil {
		t.Fatal(err)
	}
	if ok, detail := f.Run(context.Background(), "node2"); ok || !strings.Contains(detail, "chmod go-w "+script) {
		t.Errorf("Run of a world-writable fence program = %v %q, want a refusal with the fix", ok, detail)
	}
	b, _ = os.ReadFile(record)
	if strings.Count(string(b), "\n") != 3 {
		t.Errorf("the world-writable fence program ran: %q", b)
	}
}

// TestFenceCommandBounded: a fence program that writes without end, or
// leaves a child holding its output open, or ignores SIGTERM, costs
// bounded memory and bounded time.
func TestFenceCommandBounded(t *testing.T) {
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "child.pid")
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidfile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	tests := []struct {
		name    string
		body    string
		ok      bool
		detail  string
		maxTook time.Duration
	}{
		// The limits leave room for a loaded machine; without the bounds
		// these would take the child's 60 s, or forever.
		{"endless output", "head -c 5000000 /dev/zero | tr '\\0' x; echo; echo last line; exit 1", false, "x | last line", 30 * time.Second},
		{"child keeps the pipe open", "sleep 60 & echo $! > " + pidfile + "; echo fenced; exit 0", true, "fenced", 20 * time.Second},
		{"ignores SIGTERM", "trap '' TERM; echo stubborn; while :; do sleep 1; done", false, "timed out", 1*time.Second + harc.DefaultKillGrace + 15*time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
			if err := os.WriteFile(script, []byte("#!/bin/sh\n"+tt.body+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			f := Fencer{Fence: config.FenceConfig{Command: []string{script}, Timeout: time.Second}}
			start := time.Now()
			ok, detail := f.Run(context.Background(), "node2")
			took := time.Since(start)
			if ok != tt.ok || !strings.Contains(detail, tt.detail) {
				t.Errorf("Run = %v %.200q, want %v and %q", ok, detail, tt.ok, tt.detail)
			}
			if len(detail) > 2*fenceOutputLimit {
				t.Errorf("detail is %d bytes, more than the %d kept", len(detail), fenceOutputLimit)
			}
			if took > tt.maxTook {
				t.Errorf("took %v, want at most %v", took, tt.maxTook)
			}
		})
	}
}

// TestFenceAWS: fence_aws asks the registry's AWS fence with the
// instances ha.cf maps the nodes to, and says why when it cannot.
func TestFenceAWS(t *testing.T) {
	var got []agents.FenceRequest
	fake := func(_ context.Context, r agents.FenceRequest) (string, error) {
		got = append(got, r)
		if r.Target == "i-0bad" {
			return "", errors.New("UnauthorizedOperation (ec2:StopInstances)")
		}
		return "done " + r.Action, nil
	}
	instances := map[string]string{"node1": "i-0001", "node2": "i-0002", "node3": "i-0bad"}
	fencer := func(action string, aws func(context.Context, agents.FenceRequest) (string, error), thisNode string) Fencer {
		return Fencer{ThisNode: thisNode, AWS: aws, Fence: config.FenceConfig{Timeout: 10 * time.Second, AWS: &config.FenceAWS{
			Action: action, AllocationID: "eipalloc-0123abcd", Instances: instances, Region: "eu-west-1", Endpoint: "http://127.0.0.1:1",
		}}}
	}
	tests := []struct {
		name, action, thisNode, node string
		aws                          func(context.Context, agents.FenceRequest) (string, error)
		ok                           bool
		detail                       string
		want                         *agents.FenceRequest
	}{
		{"stop", config.FenceAWSStop, "node2", "node1", fake, true, "done stop-instance",
			&agents.FenceRequest{Action: agents.FenceStop, Node: "node1", Target: "i-0001", AllocationID: "eipalloc-0123abcd", Region: "eu-west-1", Endpoint: "http://127.0.0.1:1"}},
		{"reassociate", config.FenceAWSReassociate, "node2", "node1", fake, true, "done reassociate",
			&agents.FenceRequest{Action: agents.FenceReassociate, Node: "node1", Target: "i-0001", Self: "i-0002", AllocationID: "eipalloc-0123abcd", Region: "eu-west-1", Endpoint: "http://127.0.0.1:1"}},
		{"denied", config.FenceAWSStop, "node2", "node3", fake, false, "ec2:StopInstances", nil},
		{"node without instance", config.FenceAWSStop, "node2", "node9", fake, false, "node node9 has no instance id", nil},
		{"this node without instance", config.FenceAWSReassociate, "node9", "node1", fake, false, "this node node9 has no instance id", nil},
		{"no AWS fence", config.FenceAWSStop, "node2", "node1", nil, false, "no AWS fence", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			ok, detail := fencer(tt.action, tt.aws, tt.thisNode).Run(context.Background(), tt.node)
			if ok != tt.ok || !strings.Contains(detail, tt.detail) {
				t.Errorf("Run = %v %q, want %v and %q", ok, detail, tt.ok, tt.detail)
			}
			if tt.want != nil && (len(got) != 1 || got[0] != *tt.want) {
				t.Errorf("asked %+v, want %+v", got, *tt.want)
			}
		})
	}
}
