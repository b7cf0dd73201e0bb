package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/resources/awseip/ec2fake"
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

func TestFenceAWS(t *testing.T) {
	f := ec2fake.New()
	defer f.Close()
	f.AddInstance("i-0001", "10.0.0.10")
	f.AddInstance("i-0002", "10.0.0.20")
	f.AddAddress("eipalloc-0abc", "203.0.113.7")
	if _, err := f.Associate("eipalloc-0abc", "i-0001"); err != nil {
		t.Fatal(err)
	}
	creds := credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")
	aws := func(action string) Fencer {
		return Fencer{ThisNode: "node2", Credentials: creds, Fence: config.FenceConfig{Timeout: 10 * time.Second, AWS: &config.FenceAWS{
			Action: action, AllocationID: "eipalloc-0abc", Instances: map[string]string{"node1": "i-0001", "node2": "i-0002"},
			Region: f.Region(), Endpoint: f.URL(),
		}}}
	}
	t.Run("reassociate", func(t *testing.T) {
		ok, detail := aws(config.FenceAWSReassociate).Run(context.Background(), "node1")
		if !ok {
			t.Fatalf("fence failed: %s", detail)
		}
		if a, _ := f.Address("eipalloc-0abc"); a.InstanceID != "i-0002" {
			t.Errorf("EIP on %q after the fence, want this node's i-0002 (%s)", a.InstanceID, detail)
		}
		calls := f.EC2Calls("AssociateAddress")
		if len(calls) != 1 || calls[0].Params.Get("AllowReassociation") != "true" {
			t.Errorf("AssociateAddress calls %+v, want one with AllowReassociation", calls)
		}
	})
	t.Run("stop-instance", func(t *testing.T) {
		ok, detail := aws(config.FenceAWSStop).Run(context.Background(), "node1")
		if !ok {
			t.Fatalf("fence failed: %s", detail)
		}
		if in, _ := f.Instance("i-0001"); in.State == ec2fake.StateRunning {
			t.Errorf("instance still %s after the fence (%s)", in.State, detail)
		}
		if in, _ := f.Instance("i-0002"); in.State != ec2fake.StateRunning {
			t.Errorf("this node's instance is %s", in.State)
		}
	})
	t.Run("denied", func(t *testing.T) {
		f.Deny("StopInstances")
		ok, detail := aws(config.FenceAWSStop).Run(context.Background(), "node1")
		if ok || !strings.Contains(detail, "ec2:StopInstances") {
			t.Errorf("denied fence = %v %q, want a failure naming ec2:StopInstances", ok, detail)
		}
	})
}

// TestFenceAWSIMDSv2Only: without static credentials fence_aws takes the
// instance profile's, and without region= the instance's region, from
// IMDS with a session token only; when IMDS refuses a token it fails
// without a single tokenless (IMDSv1) request.
func TestFenceAWSIMDSv2Only(t *testing.T) {
	for _, name := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EC2_METADATA_DISABLED", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2"} {
		t.Setenv(name, "")
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	tests := []struct {
		name   string
		mode   ec2fake.IMDSMode
		region bool // region= in ha.cf
		ok     bool
	}{
		{"credentials and region from IMDSv2", ec2fake.IMDSNormal, false, true},
		{"credentials from IMDSv2", ec2fake.IMDSNormal, true, true},
		{"token refused, no region", ec2fake.IMDSTokenForbidden, false, false},
		{"token refused", ec2fake.IMDSTokenForbidden, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ec2fake.New()
			defer f.Close()
			f.AddInstance("i-0001", "10.0.0.10")
			f.AddInstance("i-0002", "10.0.0.20")
			md := f.NewIMDS("i-0002")
			md.SetMode(tt.mode)
			t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", md.URL())
			a := &config.FenceAWS{Action: config.FenceAWSStop, Instances: map[string]string{"node1": "i-0001", "node2": "i-0002"}, Endpoint: f.URL()}
			if tt.region {
				a.Region = f.Region()
			}
			fencer := Fencer{ThisNode: "node2", Fence: config.FenceConfig{Timeout: 10 * time.Second, AWS: a}}
			ok, detail := fencer.Run(context.Background(), "node1")
			if ok != tt.ok {
				t.Fatalf("Run = %v %q, want %v", ok, detail, tt.ok)
			}
			calls := f.IMDSCalls("i-0002")
			if len(calls) == 0 {
				t.Fatal("IMDS never asked")
			}
			for _, c := range calls {
				if !c.Token {
					t.Errorf("IMDS %s %s without a token (IMDSv1)", c.Method, c.Path)
				}
			}
			if !tt.ok {
				return
			}
			key, _ := md.RoleCredentials()
			stops := f.EC2Calls("StopInstances")
			if len(stops) != 1 || stops[0].AccessKeyID != key {
				t.Errorf("StopInstances calls %+v, want one signed with the role's %s", stops, key)
			}
		})
	}
}
