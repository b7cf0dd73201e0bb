package awseip

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/resources/awseip/ec2fake"
)

// TestMainAsScript runs Main as harc runs a resource script and reads
// status the way harc (Heartbeat's ResourceManager rule) does. Credentials
// come from the default chain: the fake instance profile through IMDSv2.
func TestMainAsScript(t *testing.T) {
	w := newWorld(t)
	w.dumpOnFailure(t)
	args := func(md *ec2fake.IMDS, op string, extra ...string) []string {
		a := append([]string{alloc, "ec2_endpoint=" + w.f.URL(), "imds_endpoint=" + md.URL()}, extra...)
		return append(a, op)
	}
	steps := []struct {
		name       string
		setup      func()
		args       []string
		wantCode   int
		wantStdout string // exact, for status; substring otherwise
		wantStderr string // substring
		wantHarc   string // "running" / "stopped": harc's reading of a status
	}{
		{name: "status before start", args: args(w.mdA, "status"), wantCode: 3, wantStdout: "stopped\n", wantHarc: "stopped"},
		{name: "start on A", args: args(w.mdA, "start"), wantCode: 0, wantStdout: "is associated with this instance " + instA, wantStderr: "AssociateAddress " + alloc + ": ok in"},
		{name: "status on A", args: args(w.mdA, "status"), wantCode: 0, wantStdout: "running\n", wantHarc: "running"},
		{name: "monitor on A", args: args(w.mdA, "monitor"), wantCode: 0, wantStdout: "running\n", wantHarc: "running"},
		{name: "status on B", args: args(w.mdB, "status"), wantCode: 3, wantStdout: "stopped\n", wantStderr: "associated with " + instA, wantHarc: "stopped"},
		{name: "stop keep on A", args: args(w.mdA, "stop"), wantCode: 0, wantStdout: "left associated (stop=keep)"},
		{name: "B denied", setup: func() { w.f.Deny("AssociateAddress") }, args: args(w.mdB, "start"), wantCode: ExitPrivilege,
			wantStderr: "awseip: ERROR: AssociateAddress failed: UnauthorizedOperation (missing IAM permission ec2:AssociateAddress)"},
		{name: "B takes over", setup: w.f.ClearFaults, args: args(w.mdB, "start"), wantCode: 0, wantStdout: "is associated with this instance " + instB, wantStderr: "took " + alloc + " from " + instA},
		{name: "status on A after takeover", args: args(w.mdA, "status"), wantCode: 3, wantStdout: "stopped\n", wantHarc: "stopped"},
		{name: "status unknown", setup: func() { w.f.Deny("DescribeAddresses") }, args: args(w.mdB, "status"), wantCode: 4, wantStdout: "",
			wantStderr: "status unknown: DescribeAddresses failed: UnauthorizedOperation", wantHarc: "stopped"},
		{name: "stop disassociate on B", setup: w.f.ClearFaults, args: args(w.mdB, "stop", "stop=disassociate"), wantCode: 0, wantStdout: "is not associated"},
		{name: "bad parameter", args: args(w.mdA, "start", "stop=sometimes"), wantCode: ExitNotConfigured, wantStderr: `stop="sometimes": want keep or disassociate`},
		{name: "unknown operation", args: args(w.mdA, "restart"), wantCode: ExitUsage, wantStderr: `unknown operation "restart"`},
		{name: "no operation", args: []string{alloc}, wantCode: ExitUsage, wantStderr: "usage: awseip"},
		{name: "no allocation id", args: []string{"region=x", "start"}, wantCode: ExitNotConfigured, wantStderr: "must be the allocation id"},
	}
	for _, s := range steps {
		if s.setup != nil {
			s.setup()
		}
		var out, errb bytes.Buffer
		code := Main(s.args, &out, &errb)
		t.Logf("%s: exit %d\n  stdout: %q\n  stderr: %q", s.name, code, out.String(), errb.String())
		if code != s.wantCode {
			t.Errorf("%s: exit %d, want %d", s.name, code, s.wantCode)
		}
		if strings.HasSuffix(s.name, "status") || s.wantHarc != "" {
			if out.String() != s.wantStdout {
				t.Errorf("%s: stdout %q, want exactly %q", s.name, out.String(), s.wantStdout)
			}
		} else if !strings.Contains(out.String(), s.wantStdout) {
			t.Errorf("%s: stdout %q lacks %q", s.name, out.String(), s.wantStdout)
		}
		if !strings.Contains(errb.String(), s.wantStderr) {
			t.Errorf("%s: stderr %q lacks %q", s.name, errb.String(), s.wantStderr)
		}
		for _, line := range strings.Split(strings.TrimSpace(errb.String()), "\n") {
			if line != "" && !strings.HasPrefix(line, "awseip: ") && !strings.HasPrefix(line, "usage:") && !strings.HasPrefix(line, "  ") {
				t.Errorf("%s: stderr line without the awseip: prefix: %q", s.name, line)
			}
		}
		if s.wantHarc != "" {
			// The exit code and stdout harc's status rules read: LSB
			// codes 0 and 3, or a status that prints nothing and exits 4
			// (unknown), which Heartbeat's rule reads as stopped.
			running := code == 0 && out.String() == "running\n"
			if got := map[bool]string{true: "running", false: "stopped"}[running]; got != s.wantHarc {
				t.Errorf("%s: reads as %s, want %s", s.name, got, s.wantHarc)
			}
		}
	}
	// stop=keep made no AWS call at all.
	for _, c := range w.f.EC2Calls("DisassociateAddress") {
		if c.Params.Get("AssociationId") == "" {
			t.Errorf("DisassociateAddress without AssociationId")
		}
	}
	if n := len(w.f.EC2Calls("DisassociateAddress")); n != 1 {
		t.Errorf("DisassociateAddress called %d times, want once (stop=disassociate on B only)", n)
	}
}

func TestParseParams(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    Params
		wantErr string
	}{
		{args: []string{alloc}, want: Params{AllocationID: alloc, Timeout: DefaultTimeout, IMDSTimeout: DefaultIMDSTimeout, MaxAttempts: DefaultMaxAttempts}},
		{args: []string{alloc, "instance=i-1", "region=us-east-1", "private-ip=10.0.0.5", "stop=disassociate", "ec2_endpoint=http://127.0.0.1:1", "IMDS_ENDPOINT=http://[::1]:2", "timeout=10", "imds_timeout=500ms", "attempts=3"},
			want: Params{AllocationID: alloc, InstanceID: "i-1", Region: "us-east-1", PrivateIP: "10.0.0.5", Stop: StopDisassociate,
				EC2Endpoint: "http://127.0.0.1:1", IMDSEndpoint: "http://[::1]:2", Timeout: 10e9, IMDSTimeout: 5e8, MaxAttempts: 3}},
		{args: nil, wantErr: "missing the Elastic IP's allocation id"},
		{args: []string{"203.0.113.7"}, wantErr: "does not start with eipalloc-"},
		{args: []string{alloc, "stop"}, wantErr: `"stop" is not NAME=VALUE`},
		{args: []string{alloc, "color=red"}, wantErr: `unknown parameter "color"`},
		{args: []string{alloc, "region=eu-west-1", "region=eu-west-2"}, wantErr: "given twice"},
		{args: []string{"eipalloc-0123abcd", "region=us-gov-west-1", "private_ip=172.31.5.9"},
			want: Params{AllocationID: "eipalloc-0123abcd", Region: "us-gov-west-1", PrivateIP: "172.31.5.9", Timeout: DefaultTimeout, IMDSTimeout: DefaultIMDSTimeout, MaxAttempts: DefaultMaxAttempts}},
		{args: []string{"eipalloc-0h"}, wantErr: `allocation id "eipalloc-0h" is not eipalloc- and 8 to 17 hexadecimal digits`},
		{args: []string{"eipalloc-0123abc"}, wantErr: "8 to 17 hexadecimal digits"},
		{args: []string{"eipalloc-0123456789abcdef01"}, wantErr: "8 to 17 hexadecimal digits"},
		{args: []string{"eipalloc-0123456789ABCDEF0"}, wantErr: "8 to 17 hexadecimal digits"},
		{args: []string{"50.17.213.152"}, wantErr: "not its address"},
		{args: []string{"region=eu-west-1"}, wantErr: "the first parameter must be the allocation id"},
		{args: []string{alloc, "regoin=eu-west-1"}, wantErr: `unknown parameter "regoin" (known: instance, region, private_ip, stop, ec2_endpoint, imds_endpoint, timeout, imds_timeout, attempts)`},
		{args: []string{alloc, "region=Ireland"}, wantErr: `region="Ireland" is not an AWS region name`},
		{args: []string{alloc, "region=eu-west"}, wantErr: "is not an AWS region name"},
		{args: []string{alloc, "region="}, wantErr: "region= is empty"},
		{args: []string{alloc, "stop=bogus"}, wantErr: `stop="bogus": want keep or disassociate`},
		{args: []string{alloc, "private_ip=10.0.0"}, wantErr: "want the instance's private IPv4 address"},
		{args: []string{alloc, "private_ip=fd00::5"}, wantErr: "want the instance's private IPv4 address"},
		{args: []string{alloc, "instance=eni-1"}, wantErr: "starts with i-"},
		{args: []string{alloc, "ec2_endpoint=localhost:80"}, wantErr: "want an http:// or https:// URL"},
		{args: []string{alloc, "timeout=-1s"}, wantErr: "above 0"},
		{args: []string{alloc, "timeout=soon"}, wantErr: "want a duration"},
		{args: []string{alloc, "attempts=0"}, wantErr: "from 1 to 20"},
	} {
		got, err := ParseParams(tc.args)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseParams(%q) error = %v, want %q", tc.args, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("ParseParams(%q): %v", tc.args, err)
		case got != tc.want:
			t.Errorf("ParseParams(%q) = %+v, want %+v", tc.args, got, tc.want)
		}
	}
	if !(Params{InstanceID: "i-1"}).NeedsIMDS() || (Params{InstanceID: "i-1", Region: "r"}).NeedsIMDS() {
		t.Errorf("NeedsIMDS wrong")
	}
}
