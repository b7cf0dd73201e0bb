package awseip

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/resources/awseip/ec2fake"
)

func TestStartStatusStop(t *testing.T) {
	for _, tc := range []struct {
		stop            string
		wantDisassoc    bool
		wantHolderAfter string
		wantRunAfter    bool
	}{
		{stop: "keep", wantDisassoc: false, wantHolderAfter: instA, wantRunAfter: true},
		{stop: "disassociate", wantDisassoc: true, wantHolderAfter: "", wantRunAfter: false},
	} {
		t.Run(tc.stop, func(t *testing.T) {
			w := newWorld(t)
			w.dumpOnFailure(t)
			ctx := context.Background()
			a := w.agent(t, w.mdA, "stop="+tc.stop)

			st, err := a.Status(ctx)
			if err != nil || st.Running || st.AssociationID != "" {
				t.Fatalf("status before start = %+v, %v; want not running, unassociated", st, err)
			}
			st, err = a.Start(ctx)
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			if !st.Running || st.InstanceID != instA || st.PublicIP != publicIP || st.PrivateIP != "10.0.0.10" {
				t.Errorf("start state = %+v; want running on %s with %s / 10.0.0.10", st, instA, publicIP)
			}
			if got := w.holder(t); got != instA {
				t.Errorf("fake says holder %q after start, want %s", got, instA)
			}
			assoc := w.f.EC2Calls("AssociateAddress")
			if len(assoc) != 1 {
				t.Fatalf("AssociateAddress called %d times, want 1", len(assoc))
			}
			for k, want := range map[string]string{"AllocationId": alloc, "InstanceId": instA, "AllowReassociation": "true", "Version": ec2fake.APIVersion} {
				if got := assoc[0].Params.Get(k); got != want {
					t.Errorf("AssociateAddress %s = %q, want %q", k, got, want)
				}
			}
			if assoc[0].AccessKeyID != testKey {
				t.Errorf("signed with key %q, want %q", assoc[0].AccessKeyID, testKey)
			}
			// start verified with DescribeAddresses after associating.
			if got := actions(w.f); !slices.Equal(got, []string{"DescribeAddresses", "DescribeAddresses", "AssociateAddress", "DescribeAddresses"}) {
				t.Errorf("EC2 calls = %v", got)
			}

			if st, err = a.Status(ctx); err != nil || !st.Running {
				t.Fatalf("status after start = %+v, %v; want running", st, err)
			}
			if _, err = a.Stop(ctx); err != nil {
				t.Fatalf("stop: %v", err)
			}
			dis := w.f.EC2Calls("DisassociateAddress")
			if (len(dis) == 1) != tc.wantDisassoc || len(dis) > 1 {
				t.Fatalf("DisassociateAddress called %d times; want it: %v", len(dis), tc.wantDisassoc)
			}
			if tc.wantDisassoc && dis[0].Params.Get("AssociationId") != st.AssociationID {
				t.Errorf("DisassociateAddress AssociationId = %q, want %q", dis[0].Params.Get("AssociationId"), st.AssociationID)
			}
			if got := w.holder(t); got != tc.wantHolderAfter {
				t.Errorf("holder after stop = %q, want %q", got, tc.wantHolderAfter)
			}
			if st, err = a.Status(ctx); err != nil || st.Running != tc.wantRunAfter {
				t.Errorf("status after stop = %+v, %v; want running=%v", st, err, tc.wantRunAfter)
			}
			// A second stop is harmless either way.
			if _, err = a.Stop(ctx); err != nil {
				t.Errorf("second stop: %v", err)
			}
		})
	}
}

func TestStartWhenAlreadyHeldMakesNoCall(t *testing.T) {
	w := newWorld(t)
	w.dumpOnFailure(t)
	if _, err := w.f.Associate(alloc, instA); err != nil {
		t.Fatal(err)
	}
	st, err := w.agent(t, w.mdA).Start(context.Background())
	if err != nil || !st.Running {
		t.Fatalf("start = %+v, %v", st, err)
	}
	if n := len(w.f.EC2Calls("AssociateAddress")); n != 0 {
		t.Errorf("AssociateAddress called %d times for an address already ours (each remap may be billed)", n)
	}
}

// TestFailover moves the address as a takeover does: A holds it, A dies
// (no stop), B starts; then back, with A's stop=disassociate leaving B's
// association alone.
func TestFailover(t *testing.T) {
	w := newWorld(t)
	w.dumpOnFailure(t)
	ctx := context.Background()
	a := w.agent(t, w.mdA, "stop=disassociate")
	b := w.agent(t, w.mdB, "stop=disassociate")

	if _, err := a.Start(ctx); err != nil {
		t.Fatalf("A start: %v", err)
	}
	stB, err := b.Start(ctx)
	if err != nil {
		t.Fatalf("B start (takeover from A): %v", err)
	}
	if !stB.Running || w.holder(t) != instB {
		t.Fatalf("after B's start: state %+v, holder %s", stB, w.holder(t))
	}
	last := w.f.EC2Calls("AssociateAddress")
	if got := last[len(last)-1].Params.Get("AllowReassociation"); got != "true" {
		t.Errorf("B's AssociateAddress AllowReassociation = %q", got)
	}
	stA, err := a.Status(ctx)
	if err != nil || stA.Running || stA.InstanceID != instB {
		t.Errorf("A's status after takeover = %+v, %v; want stopped, held by %s", stA, err, instB)
	}
	if !strings.Contains(stA.String(), "not with this instance "+instA) {
		t.Errorf("A's state reads %q", stA)
	}
	// A (coming back, releasing what it no longer holds) must not take
	// B's association away.
	if _, err := a.Stop(ctx); err != nil {
		t.Fatalf("A stop: %v", err)
	}
	if n := len(w.f.EC2Calls("DisassociateAddress")); n != 0 {
		t.Errorf("A's stop called DisassociateAddress %d times while B held the address", n)
	}
	if w.holder(t) != instB {
		t.Errorf("holder after A's stop = %s, want %s", w.holder(t), instB)
	}
	// Failback: A takes it again.
	if _, err := a.Start(ctx); err != nil || w.holder(t) != instA {
		t.Fatalf("failback: %v, holder %s", err, w.holder(t))
	}
	if st, _ := b.Status(ctx); st.Running {
		t.Errorf("B still says running after failback")
	}
}

func TestPrivateIP(t *testing.T) {
	w := newWorld(t)
	w.dumpOnFailure(t)
	ctx := context.Background()
	a := w.agent(t, w.mdA, "private_ip=10.0.0.11")
	// Held by A on its primary address: not what we want, so start moves it.
	if _, err := w.f.Associate(alloc, instA); err != nil {
		t.Fatal(err)
	}
	if st, err := a.Status(ctx); err != nil || st.Running {
		t.Fatalf("status with the address on the wrong private ip = %+v, %v", st, err)
	}
	st, err := a.Start(ctx)
	if err != nil || !st.Running || st.PrivateIP != "10.0.0.11" {
		t.Fatalf("start = %+v, %v", st, err)
	}
	calls := w.f.EC2Calls("AssociateAddress")
	if len(calls) != 1 || calls[0].Params.Get("PrivateIpAddress") != "10.0.0.11" {
		t.Errorf("AssociateAddress calls = %+v", calls)
	}
}

func TestThrottlingIsRetried(t *testing.T) {
	w := newWorld(t)
	w.dumpOnFailure(t)
	w.f.Inject(ec2fake.Fault{Action: "AssociateAddress", Code: "RequestLimitExceeded", Times: 3})
	st, err := w.agent(t, w.mdA).Start(context.Background())
	if err != nil || !st.Running {
		t.Fatalf("start with 3 throttled AssociateAddress calls = %+v, %v", st, err)
	}
	var codes []string
	for _, c := range w.f.EC2Calls("AssociateAddress") {
		codes = append(codes, c.Code)
	}
	if want := []string{"RequestLimitExceeded", "RequestLimitExceeded", "RequestLimitExceeded", ""}; !slices.Equal(codes, want) {
		t.Errorf("AssociateAddress answers = %q, want %q", codes, want)
	}
	if !strings.Contains(w.logbuf.String(), "AssociateAddress "+alloc+": ok in") || !strings.Contains(w.logbuf.String(), "(4 attempts)") {
		t.Errorf("log does not report the call with its 4 attempts:\n%s", w.logbuf.String())
	}
}

// TestLostAnswerIsRetried: EC2 applies AssociateAddress but the answer is
// a 500; the retry finds it already done.
func TestLostAnswerIsRetried(t *testing.T) {
	w := newWorld(t)
	w.dumpOnFailure(t)
	w.f.Inject(ec2fake.Fault{Action: "AssociateAddress", Code: "InternalError", Times: 1, AfterApply: true})
	st, err := w.agent(t, w.mdA).Start(context.Background())
	if err != nil || !st.Running {
		t.Fatalf("start = %+v, %v", st, err)
	}
	if n := len(w.f.EC2Calls("AssociateAddress")); n != 2 {
		t.Errorf("AssociateAddress called %d times, want 2", n)
	}
}

// TestErrors: each failure names EC2's error code and what to do.
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		op     string // start, stop, status
		extra  []string
		setup  func(w *world)
		want   []string // substrings of the error
		code   string   // Error.Code
		action string   // Error.IAMAction
	}{
		{name: "associate denied", op: "start", setup: func(w *world) { w.f.Deny("AssociateAddress") },
			want: []string{"AssociateAddress failed: UnauthorizedOperation", "missing IAM permission ec2:AssociateAddress", "decode-authorization-message", "request id "},
			code: "UnauthorizedOperation", action: "ec2:AssociateAddress"},
		{name: "describe denied", op: "status", setup: func(w *world) { w.f.Deny("DescribeAddresses") },
			want: []string{"DescribeAddresses failed: UnauthorizedOperation", "ec2:DescribeAddresses"},
			code: "UnauthorizedOperation", action: "ec2:DescribeAddresses"},
		{name: "disassociate denied", op: "stop", extra: []string{"stop=disassociate"},
			setup: func(w *world) { w.f.Associate(alloc, instA); w.f.Deny("DisassociateAddress") },
			want:  []string{"DisassociateAddress failed: UnauthorizedOperation", "ec2:DisassociateAddress"},
			code:  "UnauthorizedOperation", action: "ec2:DisassociateAddress"},
		{name: "unknown allocation", op: "start", setup: func(w *world) { w.f.Inject(ec2fake.Fault{Code: "InvalidAllocationID.NotFound"}) },
			want: []string{"InvalidAllocationID.NotFound", "The allocation ID '" + alloc + "' does not exist", "wrong allocation id, or wrong region"},
			code: "InvalidAllocationID.NotFound"},
		{name: "already associated", op: "start", setup: func(w *world) {
			w.f.Inject(ec2fake.Fault{Action: "AssociateAddress", Code: "Resource.AlreadyAssociated"})
		},
			want: []string{"AssociateAddress failed: Resource.AlreadyAssociated", "already associated with associate-id", "AllowReassociation"},
			code: "Resource.AlreadyAssociated"},
		{name: "unknown instance", op: "start", extra: []string{"instance=i-0nope", "region=" + ec2fake.DefaultRegion},
			want: []string{"InvalidInstanceID.NotFound", "i-0nope", "wrong instance= or region="},
			code: "InvalidInstanceID.NotFound"},
		{name: "throttled throughout", op: "start", extra: []string{"attempts=3"}, setup: func(w *world) { w.f.Throttle(100) },
			want: []string{"DescribeAddresses failed: RequestLimitExceeded", "kept throttling", "3 attempts"},
			code: "RequestLimitExceeded"},
		{name: "imds hop limit", op: "status", extra: []string{"imds_timeout=1s"}, setup: func(w *world) { w.mdA.SetMode(ec2fake.IMDSTokenHang) },
			want: []string{"IMDSv2 token request", "timed out", "HttpPutResponseHopLimit", "2", "instance= and region="}},
		{name: "imds disabled", op: "start", setup: func(w *world) { w.mdA.SetMode(ec2fake.IMDSTokenForbidden) },
			want: []string{"IMDS refused an IMDSv2 token (403", "HttpEndpoint=disabled"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.dumpOnFailure(t)
			if tc.setup != nil {
				tc.setup(w)
			}
			a := w.agent(t, w.mdA, tc.extra...)
			var err error
			switch tc.op {
			case "start":
				_, err = a.Start(context.Background())
			case "stop":
				_, err = a.Stop(context.Background())
			default:
				_, err = a.Status(context.Background())
			}
			if err == nil {
				t.Fatalf("%s succeeded, want an error", tc.op)
			}
			msg := err.Error()
			t.Logf("%s: %s", tc.op, msg)
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans several lines")
			}
			for _, s := range tc.want {
				if !strings.Contains(msg, s) {
					t.Errorf("error lacks %q", s)
				}
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, not *Error", err)
			}
			if e.Code != tc.code || e.IAMAction != tc.action {
				t.Errorf("Code, IAMAction = %q, %q; want %q, %q", e.Code, e.IAMAction, tc.code, tc.action)
			}
		})
	}
}

// TestIMDSv2Only: metadata is only ever asked with a token, and when the
// token is refused there is no IMDSv1 (tokenless) attempt.
func TestIMDSv2Only(t *testing.T) {
	for _, mode := range []ec2fake.IMDSMode{ec2fake.IMDSNormal, ec2fake.IMDSTokenForbidden, ec2fake.IMDSTokenHang} {
		t.Run(map[ec2fake.IMDSMode]string{ec2fake.IMDSNormal: "normal", ec2fake.IMDSTokenForbidden: "forbidden", ec2fake.IMDSTokenHang: "hang"}[mode], func(t *testing.T) {
			w := newWorld(t)
			w.dumpOnFailure(t)
			w.mdA.SetMode(mode)
			_, err := w.agent(t, w.mdA, "imds_timeout=1s").Status(context.Background())
			if (err == nil) != (mode == ec2fake.IMDSNormal) {
				t.Fatalf("status: %v", err)
			}
			calls := w.f.IMDSCalls(instA)
			if len(calls) == 0 || calls[0].Method != "PUT" || calls[0].Path != "/latest/api/token" || !calls[0].Token {
				t.Fatalf("first IMDS call is not a token PUT with a TTL: %+v", calls)
			}
			gets := 0
			for _, c := range calls {
				if c.Method == "GET" {
					gets++
					if !c.Token {
						t.Errorf("tokenless (IMDSv1) GET %s", c.Path)
					}
				}
			}
			if mode == ec2fake.IMDSNormal && gets == 0 {
				t.Errorf("no metadata GET at all")
			}
			if mode != ec2fake.IMDSNormal && gets != 0 {
				t.Errorf("%d metadata GETs after the token was refused", gets)
			}
		})
	}
}

func TestIMDSSkippedWhenConfigured(t *testing.T) {
	w := newWorld(t)
	w.dumpOnFailure(t)
	w.mdA.SetMode(ec2fake.IMDSTokenHang) // would fail if asked
	a := w.agent(t, w.mdA, "instance="+instA, "region="+ec2fake.DefaultRegion)
	if _, err := a.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	if w.holder(t) != instA {
		t.Errorf("holder %s", w.holder(t))
	}
	if calls := w.f.IMDSCalls(""); len(calls) != 0 {
		t.Errorf("IMDS asked %d times though instance= and region= were given", len(calls))
	}
}

func TestIMDSAskedForRegionOnly(t *testing.T) {
	w := newWorld(t)
	w.dumpOnFailure(t)
	w.f.SetRegion("ap-southeast-2")
	// instance= alone still needs the region: IMDS is asked, the
	// configured instance id wins.
	a := w.agent(t, w.mdB, "instance="+instA)
	if _, err := a.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	if w.holder(t) != instA {
		t.Errorf("holder %s, want the configured %s", w.holder(t), instA)
	}
	if len(w.f.IMDSCalls(instB)) == 0 {
		t.Errorf("IMDS not asked for the region")
	}
	if !strings.Contains(w.logbuf.String(), "in ap-southeast-2") {
		t.Errorf("log does not show the region from IMDS:\n%s", w.logbuf.String())
	}
}

// TestTimeoutsBounded: a hung EC2 or IMDS never holds an operation
// longer than its timeout.
func TestTimeoutsBounded(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []string
		setup func(w *world)
		bound time.Duration // the configured timeout
		want  string
	}{
		{name: "ec2 hangs", extra: []string{"timeout=1s", "instance=" + instA, "region=" + ec2fake.DefaultRegion},
			setup: func(w *world) { w.f.Slow(time.Minute) }, bound: time.Second, want: "timeout of 1s"},
		{name: "imds token hangs", extra: []string{"imds_timeout=1s"},
			setup: func(w *world) { w.mdA.SetMode(ec2fake.IMDSTokenHang) }, bound: time.Second, want: "HttpPutResponseHopLimit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.dumpOnFailure(t)
			tc.setup(w)
			start := time.Now()
			_, err := w.agent(t, w.mdA, tc.extra...).Start(context.Background())
			took := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("start = %v; want an error with %q", err, tc.want)
			}
			// Generous: the bound plus scheduling slack on a busy machine.
			if took > tc.bound+2*time.Second {
				t.Errorf("start took %s with a timeout of %s", took, tc.bound)
			}
			t.Logf("failed after %s: %v", took.Round(time.Millisecond), err)
		})
	}
}

func TestSlowButSuccessful(t *testing.T) {
	w := newWorld(t)
	w.dumpOnFailure(t)
	w.f.Inject(ec2fake.Fault{Action: "AssociateAddress", Delay: 300 * time.Millisecond})
	st, err := w.agent(t, w.mdA, "timeout=5s").Start(context.Background())
	if err != nil || !st.Running {
		t.Fatalf("start = %+v, %v", st, err)
	}
}

func TestDisassociateRace(t *testing.T) {
	// Between our DescribeAddresses and DisassociateAddress another node
	// reassociated the address: the association id we hold is gone. That
	// is a successful stop, not an error.
	w := newWorld(t)
	w.dumpOnFailure(t)
	if _, err := w.f.Associate(alloc, instA); err != nil {
		t.Fatal(err)
	}
	w.f.Inject(ec2fake.Fault{Action: "DisassociateAddress", Code: "InvalidAssociationID.NotFound", Times: 1})
	if _, err := w.agent(t, w.mdA, "stop=disassociate").Stop(context.Background()); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

func TestRoleCredentialsFromIMDS(t *testing.T) {
	// No static credentials: the SDK's default chain ends at the instance
	// profile, fetched through our IMDSv2-only client.
	w := newWorld(t)
	w.dumpOnFailure(t)
	a := New(w.params(t, w.mdA), Options{BaseBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, Log: w.logbuf})
	if _, err := a.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	key, _ := w.mdA.RoleCredentials()
	for _, c := range w.f.EC2Calls("") {
		if c.AccessKeyID != key {
			t.Errorf("%s signed with %q, want the role's %q", c.Action, c.AccessKeyID, key)
		}
	}
	for _, c := range w.f.IMDSCalls(instA) {
		if c.Method == "GET" && !c.Token {
			t.Errorf("tokenless GET %s", c.Path)
		}
	}
}

func TestEndpointsFromEnvironment(t *testing.T) {
	// No ec2_endpoint= / imds_endpoint=: the SDK's own variables work.
	w := newWorld(t)
	w.dumpOnFailure(t)
	for _, tc := range []struct{ name, env string }{{"service", "AWS_ENDPOINT_URL_EC2"}, {"global", "AWS_ENDPOINT_URL"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(tc.env, w.f.URL())
			t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", w.mdA.URL())
			t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
			w.f.ResetCalls()
			a := New(Params{AllocationID: alloc}, Options{})
			st, err := a.Status(context.Background())
			if err != nil {
				t.Fatalf("status: %v", err)
			}
			if st.Self != instA {
				t.Errorf("instance from IMDS = %q", st.Self)
			}
			calls := w.f.EC2Calls("DescribeAddresses")
			if len(calls) != 1 || calls[0].AccessKeyID != "AKIDFROMENV" {
				t.Errorf("DescribeAddresses calls = %+v", calls)
			}
		})
	}
}
