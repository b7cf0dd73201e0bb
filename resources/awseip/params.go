package awseip

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Defaults of the parameters.
const (
	// DefaultTimeout bounds one whole operation (IMDS, every EC2 call and
	// every retry): well under harc's 120 s resource timeout, long enough
	// for EC2's few-second moves and some throttling.
	DefaultTimeout = 30 * time.Second
	// DefaultIMDSTimeout bounds the IMDS lookup (token PUT and identity
	// document GET together). IMDS answers in milliseconds; a token PUT
	// that takes longer is the container hop-limit trap, and waiting
	// longer only delays the error.
	DefaultIMDSTimeout = 2 * time.Second
	// DefaultMaxAttempts is how many times one EC2 call is tried (the
	// first try included) when EC2 throttles or fails with a 5xx or a
	// connection error.
	DefaultMaxAttempts = 8
)

// StopMode says what `stop` does.
type StopMode int

const (
	// StopKeep leaves the Elastic IP associated with this instance. The
	// next holder's AssociateAddress with AllowReassociation takes it in
	// one call; disassociating first would only add a window in which the
	// address points nowhere. stop makes no AWS call and cannot fail.
	StopKeep StopMode = iota
	// StopDisassociate calls DisassociateAddress, but only when the
	// address is associated with this instance.
	StopDisassociate
)

func (m StopMode) String() string {
	if m == StopDisassociate {
		return "disassociate"
	}
	return "keep"
}

// Params are an awseip resource's parameters, as written in haresources:
//
//	awseip::ALLOCATION_ID[::NAME=VALUE]...
//
// NAMEs (a dash may be written for the underscore):
//
//	instance=i-…          this node's instance id; with region= set too, IMDS is not contacted
//	region=eu-west-1      the region; with instance= set too, IMDS is not contacted
//	private_ip=10.0.0.12  associate with this private address of the instance (default: its primary)
//	stop=keep|disassociate  what stop does (default keep)
//	ec2_endpoint=URL      EC2 endpoint (default: the SDK's, which honours AWS_ENDPOINT_URL_EC2 and AWS_ENDPOINT_URL)
//	imds_endpoint=URL     metadata endpoint (default: the SDK's, AWS_EC2_METADATA_SERVICE_ENDPOINT or http://169.254.169.254)
//	timeout=30s           bound of one whole operation
//	imds_timeout=2s       bound of the IMDS lookup
//	attempts=8            tries per EC2 call on throttling, 5xx and connection errors
type Params struct {
	AllocationID string
	InstanceID   string
	Region       string
	PrivateIP    string
	Stop         StopMode
	EC2Endpoint  string
	IMDSEndpoint string
	Timeout      time.Duration
	IMDSTimeout  time.Duration
	MaxAttempts  int
}

// paramNames are the NAMEs ParseParams knows, as an error lists them.
var paramNames = []string{"instance", "region", "private_ip", "stop", "ec2_endpoint", "imds_endpoint", "timeout", "imds_timeout", "attempts"}

// allocationIDRE is the form of an Elastic IP's allocation id: 8 hex
// digits in older accounts, 17 today.
var allocationIDRE = regexp.MustCompile(`^eipalloc-[0-9a-f]{8,17}$`)

// regionRE is the form of an AWS region name: eu-west-1, us-gov-west-1,
// ap-southeast-2, cn-north-1.
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// ParseParams is the one parser of an awseip resource's parameters: the
// agent runs with it and `hbd check` checks haresources with it (see
// Agents). It reads the parameters of a resource: args are the fields
// between "::" after the agent's name (awseip::eipalloc-0123abcd::stop=keep
// gives ["eipalloc-0123abcd", "stop=keep"]). Unset values get their
// defaults.
func ParseParams(args []string) (Params, error) {
	p := Params{Timeout: DefaultTimeout, IMDSTimeout: DefaultIMDSTimeout, MaxAttempts: DefaultMaxAttempts}
	if len(args) == 0 || args[0] == "" {
		return p, fmt.Errorf("missing the Elastic IP's allocation id (awseip::eipalloc-…)")
	}
	if strings.Contains(args[0], "=") {
		return p, fmt.Errorf("the first parameter must be the allocation id (eipalloc-…), not %q", args[0])
	}
	p.AllocationID = args[0]
	if err := checkAllocationID(p.AllocationID); err != nil {
		return p, err
	}
	seen := map[string]bool{}
	for _, a := range args[1:] {
		name, value, ok := strings.Cut(a, "=")
		if !ok {
			return p, fmt.Errorf("parameter %q is not NAME=VALUE", a)
		}
		name = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "-", "_")
		value = strings.TrimSpace(value)
		if seen[name] {
			return p, fmt.Errorf("parameter %s given twice", name)
		}
		seen[name] = true
		if err := p.set(name, value); err != nil {
			return p, err
		}
	}
	return p, nil
}

func (p *Params) set(name, value string) error {
	var err error
	switch name {
	case "instance", "instance_id":
		if !strings.HasPrefix(value, "i-") {
			return fmt.Errorf("instance=%q: an instance id starts with i-", value)
		}
		p.InstanceID = value
	case "region":
		if err := checkRegion(value); err != nil {
			return err
		}
		p.Region = value
	case "private_ip":
		if a, err := netip.ParseAddr(value); err != nil || !a.Is4() {
			return fmt.Errorf("private_ip=%q: want the instance's private IPv4 address", value)
		}
		p.PrivateIP = value
	case "stop":
		switch value {
		case "keep":
			p.Stop = StopKeep
		case "disassociate":
			p.Stop = StopDisassociate
		default:
			return fmt.Errorf("stop=%q: want keep or disassociate", value)
		}
	case "ec2_endpoint":
		p.EC2Endpoint, err = endpoint(name, value)
	case "imds_endpoint":
		p.IMDSEndpoint, err = endpoint(name, value)
	case "timeout":
		p.Timeout, err = duration(name, value)
	case "imds_timeout":
		p.IMDSTimeout, err = duration(name, value)
	case "attempts":
		p.MaxAttempts, err = strconv.Atoi(value)
		if err != nil || p.MaxAttempts < 1 || p.MaxAttempts > 20 {
			return fmt.Errorf("attempts=%q: want a number from 1 to 20", value)
		}
	default:
		return fmt.Errorf("unknown parameter %q (known: %s)", name, strings.Join(paramNames, ", "))
	}
	return err
}

// checkAllocationID says whether id is an Elastic IP's allocation id.
func checkAllocationID(id string) error {
	switch {
	case !strings.HasPrefix(id, "eipalloc-"):
		return fmt.Errorf("allocation id %q does not start with eipalloc- (awseip takes the Elastic IP's allocation id, not its address; find it with aws ec2 describe-addresses)", id)
	case !allocationIDRE.MatchString(id):
		return fmt.Errorf("allocation id %q is not eipalloc- and 8 to 17 hexadecimal digits (e.g. eipalloc-0123456789abcdef0; find it with aws ec2 describe-addresses)", id)
	}
	return nil
}

// checkRegion says whether v is an AWS region's name.
func checkRegion(v string) error {
	switch {
	case v == "":
		return fmt.Errorf("region= is empty")
	case !regionRE.MatchString(v):
		return fmt.Errorf("region=%q is not an AWS region name (e.g. eu-west-1, us-gov-west-1)", v)
	}
	return nil
}

func endpoint(name, value string) (string, error) {
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s=%q: want an http:// or https:// URL", name, value)
	}
	return value, nil
}

func duration(name, value string) (time.Duration, error) {
	d, err := time.ParseDuration(value)
	if err != nil {
		// Heartbeat's habit: a bare number is seconds.
		n, nerr := strconv.ParseFloat(value, 64)
		if nerr != nil {
			return 0, fmt.Errorf("%s=%q: want a duration such as 20s or 1500ms", name, value)
		}
		d = time.Duration(n * float64(time.Second))
	}
	if d <= 0 || d > time.Hour {
		return 0, fmt.Errorf("%s=%q: want a duration above 0 and at most 1h", name, value)
	}
	return d, nil
}
