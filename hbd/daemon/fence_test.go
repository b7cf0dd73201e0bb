package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

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
		{"node3", false, "exit status 3"},
		{"slow", false, "timed out (fence_timeout): killed"},
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
