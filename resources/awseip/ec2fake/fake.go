package ec2fake

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// APIVersion is the EC2 API version the SDK sends and the fake answers in.
const APIVersion = "2016-11-15"

// Namespace is the XML namespace of EC2 Query API responses.
const Namespace = "http://ec2.amazonaws.com/doc/" + APIVersion + "/"

// DefaultRegion is the region a Fake says it is in unless SetRegion changes it.
const DefaultRegion = "eu-west-1"

// DefaultOwnerID is the account id the fake reports as owner of everything.
const DefaultOwnerID = "123456789012"

// Instance states as EC2 names and numbers them.
const (
	StateRunning  = "running"
	StateStopping = "stopping"
	StateStopped  = "stopped"
)

var stateCodes = map[string]int{"pending": 0, StateRunning: 16, "shutting-down": 32, "terminated": 48, StateStopping: 64, StateStopped: 80}

// Instance is one EC2 instance as the fake keeps it.
type Instance struct {
	ID                 string
	State              string   // StateRunning, StateStopping, StateStopped
	PrivateIPs         []string // the first is the primary private address
	NetworkInterfaceID string   // its primary ENI
}

// Address is one Elastic IP allocation and, if associated, where it points.
type Address struct {
	AllocationID       string
	PublicIP           string
	AssociationID      string // empty when not associated
	InstanceID         string
	NetworkInterfaceID string
	PrivateIP          string
}

// Associated reports whether the address points somewhere.
func (a Address) Associated() bool { return a.AssociationID != "" }

// Call is one request the fake received, EC2 or IMDS.
type Call struct {
	At      time.Time
	Service string // "ec2" or "imds"
	// Instance is, for IMDS, whose metadata server was asked.
	Instance string
	Method   string
	Path     string
	// Action and Params are the EC2 Query action and all its form
	// parameters (Action and Version included).
	Action string
	Params url.Values
	// AccessKeyID is the key id named in the SigV4 Authorization header
	// ("" if there was none).
	AccessKeyID string
	// Token says whether an IMDS request carried a session token (for the
	// token PUT: whether it carried the TTL header).
	Token bool
	// Status is the HTTP status answered (0 if the request was abandoned
	// before an answer, as in the hop-limit mode), Code the EC2 error code
	// ("" on success).
	Status int
	Code   string
}

// Fault changes how the fake answers matching EC2 calls. Faults are
// consulted in the order they were injected; the first one that matches a
// call is used (and counted) and the others are left alone.
type Fault struct {
	// Action limits the fault to one EC2 action ("AssociateAddress");
	// empty matches every action.
	Action string
	// Code is the EC2 error code to answer with ("RequestLimitExceeded",
	// "UnauthorizedOperation", ...). Empty answers normally, which with
	// Delay makes a slow but successful call.
	Code string
	// Message overrides the error message; empty uses one shaped like
	// EC2's for Code.
	Message string
	// Status overrides the HTTP status; 0 uses EC2's for Code.
	Status int
	// Delay is waited before answering (or until the client gives up).
	Delay time.Duration
	// Times is how many matching calls the fault affects; 0 means every
	// matching call until ClearFaults.
	Times int
	// AfterApply performs the action and only then answers with the
	// error: the change happened but the caller was told it failed, as
	// when an answer is lost.
	AfterApply bool
}

// Fake is one region of EC2 with its instances' metadata servers.
type Fake struct {
	srv  *httptest.Server
	done chan struct{}

	mu        sync.Mutex
	region    string
	instances map[string]*Instance
	addresses map[string]*Address // by allocation id
	faults    []*Fault
	calls     []Call
	imds      []*IMDS
	extra     []*http.Server // Serve's and IMDS.Serve's, closed by Close
	seq       int            // request ids, association ids, tokens
	closed    bool
}

// New starts a fake EC2 endpoint on loopback. Close it when done.
func New() *Fake {
	f := &Fake{
		done:      make(chan struct{}),
		region:    DefaultRegion,
		instances: map[string]*Instance{},
		addresses: map[string]*Address{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serveEC2))
	return f
}

// URL is the EC2 endpoint (ec2.Options.BaseEndpoint, AWS_ENDPOINT_URL_EC2).
func (f *Fake) URL() string { return f.srv.URL }

// Close stops the EC2 endpoint and every metadata server, abandoning
// requests that are being delayed.
func (f *Fake) Close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	close(f.done)
	mds := slices.Clone(f.imds)
	extra := slices.Clone(f.extra)
	f.mu.Unlock()
	for _, s := range extra {
		_ = s.Close()
	}
	for _, m := range mds {
		m.srv.Close()
	}
	f.srv.Close()
}

// Serve answers EC2 requests on l as well, until Close: l may be a
// listener inside another network namespace, so that an agent running
// there reaches the same fake (at the URL of l's address).
func (f *Fake) Serve(l net.Listener) error {
	return f.serveOn(l, http.HandlerFunc(f.serveEC2))
}

// serveOn serves h on l until Close; it refuses once the fake is closed.
func (f *Fake) serveOn(l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		l.Close()
		return fmt.Errorf("ec2fake: closed")
	}
	f.extra = append(f.extra, srv)
	go func() { _ = srv.Serve(l) }()
	return nil
}

// Region is the region the fake's metadata servers report.
func (f *Fake) Region() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.region
}

// SetRegion changes the region the metadata servers report.
func (f *Fake) SetRegion(r string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.region = r
}

// AddInstance adds a running instance with the given private addresses
// (the first is primary) and returns a copy of it. Its primary ENI id is
// derived from the instance id.
func (f *Fake) AddInstance(id string, privateIPs ...string) Instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := &Instance{ID: id, State: StateRunning, PrivateIPs: privateIPs, NetworkInterfaceID: "eni-" + strings.TrimPrefix(id, "i-")}
	f.instances[id] = in
	return cloneInstance(in)
}

// AddAddress adds an unassociated Elastic IP allocation.
func (f *Fake) AddAddress(allocationID, publicIP string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addresses[allocationID] = &Address{AllocationID: allocationID, PublicIP: publicIP}
}

// Address returns the current state of an allocation.
func (f *Fake) Address(allocationID string) (Address, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.addresses[allocationID]
	if !ok {
		return Address{}, false
	}
	return *a, true
}

// Instance returns the current state of an instance.
func (f *Fake) Instance(id string) (Instance, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in, ok := f.instances[id]
	if !ok {
		return Instance{}, false
	}
	return cloneInstance(in), true
}

// Associate points an allocation at an instance's primary address without
// a request (test setup: "the peer holds it"). It returns the association id.
func (f *Fake) Associate(allocationID, instanceID string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.addresses[allocationID]
	if !ok {
		return "", fmt.Errorf("no allocation %s", allocationID)
	}
	in, ok := f.instances[instanceID]
	if !ok {
		return "", fmt.Errorf("no instance %s", instanceID)
	}
	f.associate(a, in, primaryIP(in))
	return a.AssociationID, nil
}

// Inject adds a fault; see Fault.
func (f *Fake) Inject(ft Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := ft
	f.faults = append(f.faults, &c)
}

// Throttle answers the next n EC2 calls (any action) with
// RequestLimitExceeded.
func (f *Fake) Throttle(n int) {
	f.Inject(Fault{Code: "RequestLimitExceeded", Times: n})
}

// Deny answers every call of action with UnauthorizedOperation, as when
// the caller's IAM policy lacks ec2:ACTION, until ClearFaults.
func (f *Fake) Deny(action string) {
	f.Inject(Fault{Action: action, Code: "UnauthorizedOperation"})
}

// Slow delays every EC2 answer by d until ClearFaults.
func (f *Fake) Slow(d time.Duration) {
	f.Inject(Fault{Delay: d})
}

// ClearFaults removes every injected fault.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// Calls returns every request received so far, oldest first.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// EC2Calls returns the EC2 requests for action ("" for all), oldest first.
func (f *Fake) EC2Calls(action string) []Call {
	var out []Call
	for _, c := range f.Calls() {
		if c.Service == "ec2" && (action == "" || c.Action == action) {
			out = append(out, c)
		}
	}
	return out
}

// IMDSCalls returns the metadata requests made to instance's metadata
// server ("" for all instances), oldest first.
func (f *Fake) IMDSCalls(instance string) []Call {
	var out []Call
	for _, c := range f.Calls() {
		if c.Service == "imds" && (instance == "" || c.Instance == instance) {
			out = append(out, c)
		}
	}
	return out
}

// ResetCalls forgets the calls recorded so far.
func (f *Fake) ResetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

func (f *Fake) record(c Call) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

// wait sleeps for d, or until the client goes away or the fake closes.
// It reports whether the whole delay passed.
func (f *Fake) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-f.done:
	}
	return false
}

// nextID returns a fresh number for ids; call with f.mu held.
func (f *Fake) nextID() int {
	f.seq++
	return f.seq
}

// takeFault returns the first fault matching action, counting it; call
// with f.mu held.
func (f *Fake) takeFault(action string) *Fault {
	for i, ft := range f.faults {
		if ft.Action != "" && ft.Action != action {
			continue
		}
		c := *ft
		if ft.Times > 0 {
			ft.Times--
			if ft.Times == 0 {
				f.faults = slices.Delete(f.faults, i, i+1)
			}
		}
		return &c
	}
	return nil
}

// associate points a at in/privateIP; call with f.mu held.
func (f *Fake) associate(a *Address, in *Instance, privateIP string) {
	if a.InstanceID == in.ID && a.PrivateIP == privateIP && a.AssociationID != "" {
		return // same target: EC2 keeps the association
	}
	a.AssociationID = fmt.Sprintf("eipassoc-%017x", f.nextID())
	a.InstanceID = in.ID
	a.NetworkInterfaceID = in.NetworkInterfaceID
	a.PrivateIP = privateIP
}

func disassociate(a *Address) {
	a.AssociationID, a.InstanceID, a.NetworkInterfaceID, a.PrivateIP = "", "", "", ""
}

func primaryIP(in *Instance) string {
	if len(in.PrivateIPs) == 0 {
		return ""
	}
	return in.PrivateIPs[0]
}

func cloneInstance(in *Instance) Instance {
	c := *in
	c.PrivateIPs = slices.Clone(in.PrivateIPs)
	return c
}

// sortedAddresses returns the addresses ordered by allocation id; call
// with f.mu held.
func (f *Fake) sortedAddresses() []*Address {
	out := make([]*Address, 0, len(f.addresses))
	for _, a := range f.addresses {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AllocationID < out[j].AllocationID })
	return out
}
