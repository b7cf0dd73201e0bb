package ec2fake

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

const fakeAuth = "AWS4-HMAC-SHA256 Credential=AKIDRAW/20261122/eu-west-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"

// post sends a raw EC2 Query request.
func post(t *testing.T, f *Fake, auth bool, form url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.URL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if auth {
		req.Header.Set("Authorization", fakeAuth)
		req.Header.Set("X-Amz-Date", "20261122T101500Z")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func form(kv ...string) url.Values {
	v := url.Values{"Version": {APIVersion}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// errorEnvelope is EC2's error shape, parsed strictly.
type errorEnvelope struct {
	XMLName xml.Name `xml:"Response"`
	Errors  []struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Errors>Error"`
	RequestID string `xml:"RequestID"`
}

func TestWireProtocol(t *testing.T) {
	f := New()
	defer f.Close()
	f.AddInstance("i-01", "10.0.0.1")
	f.AddInstance("i-02", "10.0.0.2")
	f.AddAddress("eipalloc-01", "198.51.100.1")

	for _, tc := range []struct {
		name       string
		auth       bool
		form       url.Values
		wantStatus int
		wantCode   string // "" = success
		wantBody   []string
	}{
		{"unsigned", false, form("Action", "DescribeAddresses"), 401, "AuthFailure", nil},
		{"no action", true, form(), 400, "MissingAction", nil},
		{"unknown action", true, form("Action", "RunInstances"), 400, "InvalidAction", nil},
		{"no version", true, url.Values{"Action": {"DescribeAddresses"}}, 400, "MissingParameter", nil},
		{"associate", true, form("Action", "AssociateAddress", "AllocationId", "eipalloc-01", "InstanceId", "i-01"), 200, "",
			[]string{`<AssociateAddressResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">`, "<return>true</return>", "<associationId>eipassoc-"}},
		{"describe", true, form("Action", "DescribeAddresses", "AllocationId.1", "eipalloc-01"), 200, "",
			[]string{"<DescribeAddressesResponse", "<addressesSet><item><publicIp>198.51.100.1</publicIp><allocationId>eipalloc-01</allocationId><domain>vpc</domain><instanceId>i-01</instanceId>"}},
		{"reassociate not allowed", true, form("Action", "AssociateAddress", "AllocationId", "eipalloc-01", "InstanceId", "i-02"), 400, "Resource.AlreadyAssociated",
			[]string{"resource eipalloc-01 is already associated with associate-id eipassoc-"}},
		{"reassociate allowed", true, form("Action", "AssociateAddress", "AllocationId", "eipalloc-01", "InstanceId", "i-02", "AllowReassociation", "true"), 200, "", nil},
		{"unknown allocation", true, form("Action", "DescribeAddresses", "AllocationId.1", "eipalloc-99"), 400, "InvalidAllocationID.NotFound",
			[]string{"The allocation ID 'eipalloc-99' does not exist"}},
		{"unknown association", true, form("Action", "DisassociateAddress", "AssociationId", "eipassoc-99"), 400, "InvalidAssociationID.NotFound", nil},
		{"filter by instance", true, form("Action", "DescribeAddresses", "Filter.1.Name", "instance-id", "Filter.1.Value.1", "i-02"), 200, "",
			[]string{"<instanceId>i-02</instanceId>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, f, tc.auth, tc.form)
			if status != tc.wantStatus {
				t.Errorf("status %d, want %d; body %s", status, tc.wantStatus, body)
			}
			if tc.wantCode != "" {
				var env errorEnvelope
				if err := xml.Unmarshal([]byte(body), &env); err != nil {
					t.Fatalf("error body is not EC2's envelope: %v\n%s", err, body)
				}
				if len(env.Errors) != 1 || env.Errors[0].Code != tc.wantCode || env.Errors[0].Message == "" || env.RequestID == "" {
					t.Errorf("envelope %+v, want code %s with a message and a RequestID", env, tc.wantCode)
				}
			}
			text := body
			if tc.wantCode != "" {
				var env errorEnvelope
				_ = xml.Unmarshal([]byte(body), &env)
				if len(env.Errors) > 0 {
					text = env.Errors[0].Message
				}
			}
			for _, s := range tc.wantBody {
				if !strings.Contains(text, s) {
					t.Errorf("body lacks %q:\n%s", s, body)
				}
			}
		})
	}
	calls := f.EC2Calls("AssociateAddress")
	if len(calls) == 0 || calls[0].AccessKeyID != "AKIDRAW" {
		t.Errorf("call log lacks the signing key: %+v", calls)
	}
}

// sdk is a real EC2 client pointed at f, with no retries unless asked.
func sdk(f *Fake, attempts int) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:       DefaultRegion,
		BaseEndpoint: aws.String(f.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDSDK", "secret", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.MaxBackoff = 10 * time.Millisecond
		}),
	})
}

func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// TestSDKInstances covers what the AWS fence needs: DescribeInstances and
// StopInstances through the real SDK.
func TestSDKInstances(t *testing.T) {
	f := New()
	defer f.Close()
	f.AddInstance("i-0peer", "10.0.0.2")
	f.AddAddress("eipalloc-01", "198.51.100.1")
	if _, err := f.Associate("eipalloc-01", "i-0peer"); err != nil {
		t.Fatal(err)
	}
	c := sdk(f, 1)
	ctx := context.Background()

	d, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0peer"}})
	if err != nil {
		t.Fatal(err)
	}
	in := d.Reservations[0].Instances[0]
	if aws.ToString(in.InstanceId) != "i-0peer" || in.State.Name != types.InstanceStateNameRunning || aws.ToString(in.PublicIpAddress) != "198.51.100.1" {
		t.Errorf("DescribeInstances = %+v", in)
	}
	s, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{"i-0peer"}, Force: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if ch := s.StoppingInstances[0]; ch.CurrentState.Name != types.InstanceStateNameStopping || ch.PreviousState.Name != types.InstanceStateNameRunning {
		t.Errorf("StopInstances = %+v", ch)
	}
	if got, _ := f.Instance("i-0peer"); got.State != StateStopped {
		t.Errorf("state after stop = %s", got.State)
	}
	if f.EC2Calls("StopInstances")[0].Params.Get("Force") != "true" {
		t.Errorf("Force not recorded")
	}
	_, err = c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{"i-0gone"}})
	if apiCode(err) != "InvalidInstanceID.NotFound" {
		t.Errorf("StopInstances of an unknown instance: %v", err)
	}
}

func TestFaults(t *testing.T) {
	f := New()
	defer f.Close()
	f.AddInstance("i-01", "10.0.0.1")
	f.AddAddress("eipalloc-01", "198.51.100.1")
	c := sdk(f, 1)
	ctx := context.Background()
	describe := func() error {
		_, err := c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{"eipalloc-01"}})
		return err
	}

	// Action filter and Times.
	f.Inject(Fault{Action: "AssociateAddress", Code: "UnauthorizedOperation", Times: 2})
	for i := 0; i < 3; i++ {
		if err := describe(); err != nil {
			t.Fatalf("describe hit a fault meant for AssociateAddress: %v", err)
		}
	}
	assoc := func() error {
		_, err := c.AssociateAddress(ctx, &ec2.AssociateAddressInput{AllocationId: aws.String("eipalloc-01"), InstanceId: aws.String("i-01")})
		return err
	}
	for i, want := range []string{"UnauthorizedOperation", "UnauthorizedOperation", ""} {
		if got := apiCode(assoc()); got != want {
			t.Errorf("associate #%d: code %q, want %q", i+1, got, want)
		}
	}
	var api smithy.APIError
	f.Deny("DescribeAddresses")
	if err := describe(); !errors.As(err, &api) || !strings.Contains(api.ErrorMessage(), "Encoded authorization failure message: ") {
		t.Errorf("denied describe: %v", err)
	}
	f.ClearFaults()

	// Throttling is retried by the SDK's standard retryer.
	f.Throttle(2)
	c3 := sdk(f, 3)
	if _, err := c3.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{}); err != nil {
		t.Errorf("3 attempts against 2 throttles: %v", err)
	}

	// A slow answer abandoned by the client: the client returns at its
	// deadline, the fake records an unanswered call, Close does not hang.
	f.Slow(time.Minute)
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.DescribeAddresses(cctx, &ec2.DescribeAddressesInput{})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("slow describe: %v after %s", err, time.Since(start))
	}
	done := make(chan struct{})
	go func() { f.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung on a delayed request")
	}
}

func TestIMDSProtocol(t *testing.T) {
	f := New()
	defer f.Close()
	f.AddInstance("i-01", "10.0.0.1")
	f.AddInstance("i-02", "10.0.0.2")
	m1, m2 := f.NewIMDS("i-01"), f.NewIMDS("i-02")
	do := func(m *IMDS, method, path string, hdr ...string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, m.URL()+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	if code, _, _ := do(m1, "GET", "/latest/meta-data/instance-id"); code != 401 {
		t.Errorf("tokenless GET: %d, want 401 (IMDSv2 required)", code)
	}
	if code, _, _ := do(m1, "PUT", "/latest/api/token"); code != 400 {
		t.Errorf("token PUT without TTL: %d, want 400", code)
	}
	code, tok, h := do(m1, "PUT", "/latest/api/token", TokenTTLHeader, "60")
	if code != 200 || tok == "" || h.Get(TokenTTLHeader) != "60" {
		t.Fatalf("token PUT: %d %q ttl %q", code, tok, h.Get(TokenTTLHeader))
	}
	for path, want := range map[string]string{
		"/latest/meta-data/instance-id":               "i-01",
		"/latest/meta-data/placement/region":          DefaultRegion,
		"/latest/dynamic/instance-identity/document":  `"instanceId": "i-01"`,
		"/latest/meta-data/iam/security-credentials/": RoleName,
	} {
		if code, body, _ := do(m1, "GET", path, TokenHeader, tok); code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d %q, want %q", path, code, body, want)
		}
	}
	if code, _, _ := do(m2, "GET", "/latest/meta-data/instance-id", TokenHeader, tok); code != 401 {
		t.Errorf("another instance's token accepted: %d", code)
	}
	if code, _, _ := do(m1, "GET", "/latest/meta-data/nothing-here", TokenHeader, tok); code != 404 {
		t.Errorf("unknown path: %d", code)
	}
	m1.SetMode(IMDSTokenForbidden)
	if code, _, _ := do(m1, "PUT", "/latest/api/token", TokenTTLHeader, "60"); code != 403 {
		t.Errorf("forbidden mode: %d", code)
	}
	m1.SetMode(IMDSTokenHang)
	client := &http.Client{Timeout: 300 * time.Millisecond}
	req, _ := http.NewRequest("PUT", m1.URL()+"/latest/api/token", nil)
	req.Header.Set(TokenTTLHeader, "60")
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("hang mode answered %d", resp.StatusCode)
	}
	// The server sees the client go away a moment later.
	var unanswered int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		unanswered = 0
		for _, c := range f.IMDSCalls("i-01") {
			if c.Status == 0 {
				unanswered++
			}
		}
		if unanswered > 0 {
			break
		}
	}
	if unanswered != 1 {
		t.Errorf("%d unanswered calls recorded, want 1", unanswered)
	}
}

// TestServe: the same fake answers on a listener of the caller's choosing
// (a listener in another network namespace, in the e2e tests) for EC2 and
// for an instance's metadata, with one state; Close stops those too.
func TestServe(t *testing.T) {
	f := New()
	f.AddInstance("i-01", "10.0.0.1")
	f.AddAddress("eipalloc-01", "198.51.100.1")
	lEC2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lMD, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Serve(lEC2); err != nil {
		t.Fatal(err)
	}
	if err := f.NewIMDS("i-01").Serve(lMD); err != nil {
		t.Fatal(err)
	}
	c := ec2.New(ec2.Options{
		Region: DefaultRegion, BaseEndpoint: aws.String("http://" + lEC2.Addr().String()),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSERVE", "secret", ""),
	})
	if _, err := c.AssociateAddress(context.Background(), &ec2.AssociateAddressInput{AllocationId: aws.String("eipalloc-01"), InstanceId: aws.String("i-01")}); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.Address("eipalloc-01"); a.InstanceID != "i-01" {
		t.Errorf("after AssociateAddress on the other listener: %+v", a)
	}
	req, _ := http.NewRequest(http.MethodPut, "http://"+lMD.Addr().String()+"/latest/api/token", nil)
	req.Header.Set(TokenTTLHeader, "60")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(f.IMDSCalls("i-01")) != 1 {
		t.Errorf("token PUT on the other listener: %d, calls %+v", resp.StatusCode, f.IMDSCalls("i-01"))
	}
	f.Close()
	if _, err := http.Get("http://" + lEC2.Addr().String() + "/"); err == nil {
		t.Error("the other listener still answers after Close")
	}
	if err := f.Serve(lEC2); err == nil {
		t.Error("Serve after Close did not fail")
	}
}
