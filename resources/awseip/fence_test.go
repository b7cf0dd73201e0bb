package awseip

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hbdproject/hbd/resources/agents"
	"github.com/hbdproject/hbd/resources/awseip/ec2fake"
)

// TestFence: ha.cf's fence_aws against the fake EC2: the Elastic IP moves
// to this node's instance, or the silent node's instance stops, and a
// denied call names the IAM action.
func TestFence(t *testing.T) {
	f := ec2fake.New()
	defer f.Close()
	f.AddInstance("i-0001", "10.0.0.10")
	f.AddInstance("i-0002", "10.0.0.20")
	f.AddAddress("eipalloc-0abc", "203.0.113.7")
	if _, err := f.Associate("eipalloc-0abc", "i-0001"); err != nil {
		t.Fatal(err)
	}
	creds := credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")
	run := func(action string) (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		detail, err := fence(ctx, agents.FenceRequest{Action: action, Node: "node1", Target: "i-0001", Self: "i-0002",
			AllocationID: "eipalloc-0abc", Region: f.Region(), Endpoint: f.URL()}, creds)
		if err != nil {
			return false, err.Error()
		}
		return true, detail
	}
	t.Run("reassociate", func(t *testing.T) {
		ok, detail := run(agents.FenceReassociate)
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
		ok, detail := run(agents.FenceStop)
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
		ok, detail := run(agents.FenceStop)
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
			r := agents.FenceRequest{Action: agents.FenceStop, Node: "node1", Target: "i-0001", Endpoint: f.URL()}
			if tt.region {
				r.Region = f.Region()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			detail, err := Fence(ctx, r)
			if (err == nil) != tt.ok {
				t.Fatalf("Fence = %q, %v; want ok %v", detail, err, tt.ok)
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
