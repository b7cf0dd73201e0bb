package awseip_test

import (
	"bytes"
	"testing"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/resources/awseip"
	"github.com/hbdproject/hbd/resources/awseip/ec2fake"
)

// TestHarcReadsStatus checks Main's status output with harc's own rules
// (Heartbeat's stdout rule and the LSB exit-code rule), for the holder,
// the other node, and a node that cannot ask EC2.
func TestHarcReadsStatus(t *testing.T) {
	f := ec2fake.New()
	defer f.Close()
	f.AddInstance("i-0a", "10.0.0.1")
	f.AddInstance("i-0b", "10.0.0.2")
	f.AddAddress("eipalloc-0123abcd", "198.51.100.9")
	if _, err := f.Associate("eipalloc-0123abcd", "i-0a"); err != nil {
		t.Fatal(err)
	}
	mdA, mdB := f.NewIMDS("i-0a"), f.NewIMDS("i-0b")
	status := func(md *ec2fake.IMDS) harc.Result {
		var out, errb bytes.Buffer
		code := awseip.Main([]string{"eipalloc-0123abcd", "ec2_endpoint=" + f.URL(), "imds_endpoint=" + md.URL(), "status"}, &out, &errb)
		t.Logf("%s: exit %d stdout %q stderr %q", md.InstanceID(), code, out.String(), errb.String())
		return harc.Result{ExitCode: code, Stdout: out.String(), Output: out.String() + errb.String()}
	}
	for _, tc := range []struct {
		name  string
		md    *ec2fake.IMDS
		setup func()
		want  bool
	}{
		{"holder", mdA, nil, true},
		{"other node", mdB, nil, false},
		{"EC2 unreachable", mdA, func() { f.Deny("DescribeAddresses") }, false},
	} {
		if tc.setup != nil {
			tc.setup()
		}
		r := status(tc.md)
		for _, rule := range []harc.StatusRule{harc.StatusHeartbeat, harc.StatusLSB} {
			if got, why := harc.ReadStatus(rule, r); got != tc.want {
				t.Errorf("%s: harc (%s rule) reads running=%v (%s), want %v", tc.name, rule, got, why, tc.want)
			}
		}
	}
}
