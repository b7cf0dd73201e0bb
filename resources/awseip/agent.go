package awseip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go/middleware"
)

// Retry settings of EC2 calls besides Params.MaxAttempts.
const (
	// DefaultBaseBackoff is the first retry's average delay scale: retry n
	// waits a random time in [0, min(MaxBackoff, BaseBackoff·2^n)).
	DefaultBaseBackoff = 200 * time.Millisecond
	// DefaultMaxBackoff caps one retry delay.
	DefaultMaxBackoff = 2 * time.Second
)

// Options are what the Go API can set beyond Params: tests and the fence.
type Options struct {
	// Credentials replaces the SDK's default credential chain (tests:
	// credentials.NewStaticCredentialsProvider). Nil uses the chain.
	Credentials aws.CredentialsProvider
	// BaseBackoff and MaxBackoff shape the retry delays of EC2 calls; zero
	// means DefaultBaseBackoff and DefaultMaxBackoff.
	BaseBackoff, MaxBackoff time.Duration
	// Log receives one line per step (IMDS lookup, each EC2 call with its
	// duration and attempts). Nil discards them.
	Log io.Writer
}

// State is who holds the Elastic IP, as DescribeAddresses says.
type State struct {
	AllocationID  string
	PublicIP      string
	AssociationID string // empty when the address points nowhere
	InstanceID    string // the holder; empty if none or an interface not attached to an instance
	NetworkIface  string
	PrivateIP     string
	// Self is this node's instance id.
	Self string
	// Running: the address is associated with Self (and with the
	// configured private_ip, if one is).
	Running bool
}

func (s State) String() string {
	addr := s.AllocationID
	if s.PublicIP != "" {
		addr += " (" + s.PublicIP + ")"
	}
	switch {
	case s.AssociationID == "":
		return addr + " is not associated"
	case s.Running:
		return fmt.Sprintf("%s is associated with this instance %s (%s, %s)", addr, s.Self, s.PrivateIP, s.AssociationID)
	case s.InstanceID == "":
		return fmt.Sprintf("%s is associated with interface %s (%s, %s), not with this instance %s", addr, s.NetworkIface, s.PrivateIP, s.AssociationID, s.Self)
	default:
		return fmt.Sprintf("%s is associated with %s (%s, %s), not with this instance %s", addr, s.InstanceID, s.PrivateIP, s.AssociationID, s.Self)
	}
}

// Agent moves one Elastic IP to this node. It is cheap; make one per
// operation or keep one, as convenient (it remembers the IMDS answers).
type Agent struct {
	p Params
	o Options

	instanceID, region string
	client             *ec2.Client
}

// New returns an agent for p. p should come from ParseParams (or have its
// zero durations and attempts filled in by it: zeros get the defaults).
func New(p Params, o Options) *Agent {
	if p.Timeout <= 0 {
		p.Timeout = DefaultTimeout
	}
	if p.IMDSTimeout <= 0 {
		p.IMDSTimeout = DefaultIMDSTimeout
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = DefaultBaseBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return &Agent{p: p, o: o, instanceID: p.InstanceID, region: p.Region}
}

// NeedsIMDS reports whether the instance id or the region must be asked
// from IMDS (it is not contacted when both are configured).
func (p Params) NeedsIMDS() bool { return p.InstanceID == "" || p.Region == "" }

// Params returns the agent's parameters with defaults filled in.
func (a *Agent) Params() Params { return a.p }

func (a *Agent) logf(format string, args ...any) {
	fmt.Fprintln(a.o.Log, oneLine(fmt.Sprintf(format, args...)))
}

// Start associates the Elastic IP with this instance, taking it from
// whoever holds it (AllowReassociation), unless it already is; then checks
// with DescribeAddresses that it is.
func (a *Agent) Start(ctx context.Context) (State, error) {
	ctx, cancel := context.WithTimeout(ctx, a.p.Timeout)
	defer cancel()
	st, err := a.describe(ctx)
	if err != nil {
		return st, err
	}
	if st.Running {
		a.logf("%s: nothing to do", st)
		return st, nil
	}
	before := st
	in := &ec2.AssociateAddressInput{
		AllocationId:       aws.String(a.p.AllocationID),
		InstanceId:         aws.String(a.instanceID),
		AllowReassociation: aws.Bool(true),
	}
	if a.p.PrivateIP != "" {
		in.PrivateIpAddress = aws.String(a.p.PrivateIP)
	}
	var out *ec2.AssociateAddressOutput
	err = a.call(ctx, "AssociateAddress", func(ctx context.Context, opt func(*ec2.Options)) (err error) {
		out, err = a.client.AssociateAddress(ctx, in, opt)
		return err
	})
	if err != nil {
		return st, err
	}
	assoc := aws.ToString(out.AssociationId)
	if before.AssociationID != "" {
		a.logf("took %s from %s: new association %s", a.p.AllocationID, holder(before), assoc)
	}
	return a.verify(ctx, assoc)
}

func holder(s State) string {
	if s.InstanceID != "" {
		return s.InstanceID
	}
	return s.NetworkIface
}

// verify polls DescribeAddresses until it shows the association just made
// (EC2 is eventually consistent), or shows someone else holding it.
func (a *Agent) verify(ctx context.Context, assoc string) (State, error) {
	delay := 250 * time.Millisecond
	for {
		st, err := a.describe(ctx)
		switch {
		case err != nil:
			return st, fmt.Errorf("AssociateAddress succeeded (%s) but checking it failed: %w", assoc, err)
		case st.Running:
			a.logf("%s", st)
			return st, nil
		case st.AssociationID != "" && st.AssociationID != assoc:
			return st, fmt.Errorf("right after our AssociateAddress (%s), %s: another node took it meanwhile", assoc, st)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return st, fmt.Errorf("AssociateAddress succeeded (%s) but DescribeAddresses still says %s after %s", assoc, st, a.p.Timeout)
		case <-t.C:
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// Stop does what Params.Stop says: nothing (StopKeep), or
// DisassociateAddress if the address is associated with this instance.
func (a *Agent) Stop(ctx context.Context) (State, error) {
	if a.p.Stop == StopKeep {
		a.logf("stop=keep: %s stays associated until the next holder takes it with AllowReassociation", a.p.AllocationID)
		return State{AllocationID: a.p.AllocationID, Self: a.instanceID}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, a.p.Timeout)
	defer cancel()
	st, err := a.describe(ctx)
	if err != nil || !st.Running {
		if err == nil {
			a.logf("%s: nothing to disassociate", st)
		}
		return st, err
	}
	err = a.call(ctx, "DisassociateAddress", func(ctx context.Context, opt func(*ec2.Options)) error {
		_, err := a.client.DisassociateAddress(ctx, &ec2.DisassociateAddressInput{AssociationId: aws.String(st.AssociationID)}, opt)
		return err
	})
	var e *Error
	if errors.As(err, &e) && e.Code == "InvalidAssociationID.NotFound" {
		a.logf("association %s already ended (another node took the address): nothing to disassociate", st.AssociationID)
		st.Running, st.AssociationID, st.InstanceID = false, "", ""
		return st, nil
	}
	if err != nil {
		return st, err
	}
	st.Running, st.AssociationID, st.InstanceID, st.NetworkIface, st.PrivateIP = false, "", "", "", ""
	return st, nil
}

// Status asks DescribeAddresses who holds the Elastic IP.
func (a *Agent) Status(ctx context.Context) (State, error) {
	ctx, cancel := context.WithTimeout(ctx, a.p.Timeout)
	defer cancel()
	return a.describe(ctx)
}

// describe resolves the identity, then asks DescribeAddresses.
func (a *Agent) describe(ctx context.Context) (State, error) {
	st := State{AllocationID: a.p.AllocationID}
	if err := a.setup(ctx); err != nil {
		return st, err
	}
	st.Self = a.instanceID
	var out *ec2.DescribeAddressesOutput
	err := a.call(ctx, "DescribeAddresses", func(ctx context.Context, opt func(*ec2.Options)) (err error) {
		out, err = a.client.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{a.p.AllocationID}}, opt)
		return err
	})
	if err != nil {
		return st, err
	}
	for _, ad := range out.Addresses {
		if aws.ToString(ad.AllocationId) != a.p.AllocationID {
			continue
		}
		st.PublicIP = aws.ToString(ad.PublicIp)
		st.AssociationID = aws.ToString(ad.AssociationId)
		st.InstanceID = aws.ToString(ad.InstanceId)
		st.NetworkIface = aws.ToString(ad.NetworkInterfaceId)
		st.PrivateIP = aws.ToString(ad.PrivateIpAddress)
		st.Running = st.AssociationID != "" && st.InstanceID == a.instanceID &&
			(a.p.PrivateIP == "" || st.PrivateIP == a.p.PrivateIP)
		return st, nil
	}
	return st, &Error{Op: "DescribeAddresses", Code: "InvalidAllocationID.NotFound",
		Message: fmt.Sprintf("the answer does not list %s", a.p.AllocationID),
		Hint:    fmt.Sprintf("no such Elastic IP (%s in %s): wrong allocation id, or wrong region?", a.p.AllocationID, a.region)}
}

// setup learns the instance id and region (IMDS, unless both are
// configured) and builds the EC2 client.
func (a *Agent) setup(ctx context.Context) error {
	if a.client != nil {
		return nil
	}
	if a.p.NeedsIMDS() {
		id, region, err := LookupIdentity(ctx, a.imdsClient(), a.p.IMDSEndpoint, a.p.IMDSTimeout)
		if err != nil {
			return err
		}
		a.logf("IMDSv2: instance %s in %s", id, region)
		if a.instanceID == "" {
			a.instanceID = id
		}
		if a.region == "" {
			a.region = region
		}
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(a.region),
		config.WithRetryer(a.retryer),
		// Instance-profile credentials come through the same IMDSv2-only
		// client, never through IMDSv1.
		config.WithEC2RoleCredentialOptions(func(o *ec2rolecreds.Options) { o.Client = a.imdsClient() }),
	}
	if a.o.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(a.o.Credentials))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return fmt.Errorf("loading the AWS configuration: %w", err)
	}
	a.client = ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		if a.p.EC2Endpoint != "" {
			o.BaseEndpoint = aws.String(a.p.EC2Endpoint)
		}
	})
	return nil
}

// imdsClient is the agent's IMDSv2-only client.
func (a *Agent) imdsClient() *imds.Client { return IMDSClient(a.p.IMDSEndpoint) }

// IMDSClient returns an IMDSv2-only metadata client: every request carries
// a session token, and when IMDS refuses one there is no IMDSv1
// (tokenless) fallback, ever. endpoint "" means the SDK's default (or
// AWS_EC2_METADATA_SERVICE_ENDPOINT). Whatever else in hbd talks to IMDS
// (instance-profile credentials, the region) goes through such a client.
func IMDSClient(endpoint string) *imds.Client {
	return imds.New(imds.Options{
		Endpoint:       endpoint,
		EnableFallback: aws.FalseTernary,
		Retryer:        retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 2 }),
	})
}

// retryer is the EC2 clients' retry policy: the SDK's standard retryer
// (throttling codes such as RequestLimitExceeded, 5xx and connection
// errors are retried) with Params.MaxAttempts tries, full-jitter backoff
// from Options.BaseBackoff capped at Options.MaxBackoff, and no
// client-side retry quota: one agent makes a handful of calls, and the
// operation's deadline bounds them.
func (a *Agent) retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = a.p.MaxAttempts
		o.MaxBackoff = a.o.MaxBackoff
		o.Backoff = jitter{base: a.o.BaseBackoff, max: a.o.MaxBackoff}
		o.RateLimiter = ratelimit.None
	})
}

type jitter struct{ base, max time.Duration }

func (j jitter) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	d := j.max
	if attempt < 30 {
		d = min(j.max, j.base<<attempt)
	}
	return time.Duration(rand.Int64N(int64(d) + 1)), nil
}

// call runs one EC2 operation, counts its attempts, logs its duration and
// explains its error.
func (a *Agent) call(ctx context.Context, op string, fn func(context.Context, func(*ec2.Options)) error) error {
	var (
		attempts atomic.Int32
		mu       sync.Mutex
		lastErr  error // of the last attempt that failed
	)
	count := func(o *ec2.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Finalize.Insert(middleware.FinalizeMiddlewareFunc("hbdAttempts",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					attempts.Add(1)
					out, md, err := next.HandleFinalize(ctx, in)
					if err != nil && ctx.Err() == nil {
						mu.Lock()
						lastErr = err
						mu.Unlock()
					}
					return out, md, err
				}), "Retry", middleware.After)
		})
	}
	start := time.Now()
	err := fn(ctx, count)
	took := time.Since(start)
	n := int(attempts.Load())
	if err != nil {
		e := ExplainEC2(op, fmt.Sprintf("%s in %s", a.p.AllocationID, a.region), err)
		if e.Code == "InvalidInstanceID.NotFound" {
			e.Hint = fmt.Sprintf("no such instance (%s in %s): wrong instance= or region=?", a.instanceID, a.region)
		}
		e.Attempts, e.Elapsed = n, took
		if e.Code == "" && ctx.Err() != nil {
			mu.Lock()
			last := lastErr
			mu.Unlock()
			if last != nil {
				// The deadline hides why the attempts before it failed.
				if h := transportHint(last); h != "" {
					e.Hint = h
				}
				e.Err = fmt.Errorf("no success within the operation's timeout of %s (last attempt: %v): %w", a.p.Timeout, last, err)
			} else {
				e.Err = fmt.Errorf("no answer within the operation's timeout of %s: %w", a.p.Timeout, err)
			}
		}
		return e
	}
	a.logf("%s %s: ok in %s%s", op, a.p.AllocationID, round(took), attemptsText(n))
	return nil
}

func attemptsText(n int) string {
	if n > 1 {
		return fmt.Sprintf(" (%d attempts)", n)
	}
	return ""
}

// LookupIdentity asks IMDSv2 for this instance's id and region (the
// instance identity document), within timeout. client should refuse
// IMDSv1 (EnableFallback false); nil makes one (IMDSClient). endpoint is only
// used in the error text ("" = the default address). A failure is an
// *Error that says the likely cause (the container hop limit for a token
// request that times out).
func LookupIdentity(ctx context.Context, client *imds.Client, endpoint string, timeout time.Duration) (instanceID, region string, err error) {
	if client == nil {
		client = IMDSClient(endpoint)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	doc, err := client.GetInstanceIdentityDocument(ctx, &imds.GetInstanceIdentityDocumentInput{})
	if err != nil {
		return "", "", explainIMDS(endpoint, time.Since(start), err)
	}
	if doc.InstanceID == "" || doc.Region == "" {
		return "", "", &Error{Op: "IMDS", Elapsed: time.Since(start), Err: fmt.Errorf("instance identity document lacks instanceId or region")}
	}
	return doc.InstanceID, doc.Region, nil
}
