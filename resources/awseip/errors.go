package awseip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go"
)

// Error is a failed AWS call explained on one line for the log: what was
// called, EC2's error code and message, and what to do about it.
type Error struct {
	// Op is the EC2 operation ("AssociateAddress") or "IMDS".
	Op string
	// Code is EC2's error code ("UnauthorizedOperation"); empty when the
	// call failed before EC2 answered (timeout, no credentials, IMDS).
	Code string
	// Message is EC2's message for Code.
	Message string
	// RequestID is EC2's request id, for AWS support.
	RequestID string
	// IAMAction is the IAM action a permission error says is missing
	// ("ec2:AssociateAddress"); empty for other errors.
	IAMAction string
	// Attempts is how many times the call was tried.
	Attempts int
	// Elapsed is how long the call took, retries included.
	Elapsed time.Duration
	// Hint is what to do, in words.
	Hint string
	// Err is the SDK's error.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Code != "" {
		fmt.Fprintf(&b, " failed: %s", e.Code)
		if e.IAMAction != "" {
			fmt.Fprintf(&b, " (missing IAM permission %s)", e.IAMAction)
		}
		if e.Message != "" && e.Message != e.Code {
			fmt.Fprintf(&b, ": %s", e.Message)
		}
	} else {
		fmt.Fprintf(&b, " failed: %v", e.Err)
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, " — %s", e.Hint)
	}
	var extra []string
	if e.Attempts > 1 {
		extra = append(extra, fmt.Sprintf("%d attempts", e.Attempts))
	}
	if round(e.Elapsed) > 0 {
		extra = append(extra, "after "+round(e.Elapsed).String())
	}
	if e.RequestID != "" {
		extra = append(extra, "request id "+e.RequestID)
	}
	if len(extra) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(extra, ", "))
	}
	return oneLine(b.String())
}

func (e *Error) Unwrap() error { return e.Err }

// ExplainEC2 turns an error from an EC2 operation into an *Error that
// names EC2's error code and, for permission errors, the IAM action that
// is missing ("ec2:" + op). where says what the call was about
// ("eipalloc-0123 in eu-west-1") for the not-found hints. The fence uses
// it for StopInstances too.
func ExplainEC2(op, where string, err error) *Error {
	e := &Error{Op: op, Err: err}
	var api smithy.APIError
	if errors.As(err, &api) {
		e.Code, e.Message = api.ErrorCode(), api.ErrorMessage()
	}
	var rid interface{ ServiceRequestID() string }
	if errors.As(err, &rid) {
		e.RequestID = rid.ServiceRequestID()
	}
	switch e.Code {
	case "UnauthorizedOperation":
		e.IAMAction = "ec2:" + op
		e.Hint = fmt.Sprintf("allow %s to this node's role or user (docs/guide-aws-eip.md has the policy); aws sts decode-authorization-message --encoded-message … shows which statement denied it", e.IAMAction)
	case "AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch":
		e.Hint = "EC2 rejected the credentials: wrong or expired keys, or this node's clock is more than 5 minutes off"
	case "RequestExpired", "ExpiredToken":
		e.Hint = "the credentials or the request expired: check the node's clock and the credential source"
	case "InvalidAllocationID.NotFound", "InvalidAddress.NotFound":
		e.Hint = fmt.Sprintf("no such Elastic IP (%s): wrong allocation id, or wrong region?", where)
	case "InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed":
		e.Hint = fmt.Sprintf("no such instance (%s): wrong instance= or region=?", where)
	case "Resource.AlreadyAssociated":
		e.Hint = "the Elastic IP is held by something AllowReassociation cannot take it from (a NAT gateway or another account's interface?), or reassociation was not allowed"
	case "RequestLimitExceeded", "Throttling", "EC2ThrottledException":
		e.Hint = "EC2 kept throttling this account's API calls through every retry; other tooling may be flooding the EC2 API (raise timeout= or attempts=)"
	case "InvalidParameterValue", "InvalidParameterCombination":
		e.Hint = "check private_ip= and the ids in haresources"
	case "Gateway.NotAttached":
		e.Hint = "the instance's VPC has no internet gateway, so an Elastic IP cannot be associated"
	case "OptInRequired", "Blocked", "PendingVerification":
		e.Hint = "the AWS account cannot use EC2 in this region"
	case "":
		e.Hint = transportHint(err)
	}
	return e
}

// transportHint explains a failure that happened before EC2 answered.
func transportHint(err error) string {
	text := err.Error()
	switch {
	case strings.Contains(text, "ec2imds") && isTimeout(err):
		return "the instance-profile credentials come from IMDS and its token request timed out: " + hopLimitHint
	case strings.Contains(text, "credential") || strings.Contains(text, "no EC2 IMDS role found"):
		return "no usable AWS credentials: the SDK's default chain looks at AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, web identity, the container endpoint, then the instance profile through IMDS — attach an instance profile to this instance"
	case isTimeout(err):
		return "no answer from EC2 in time (network path to the EC2 endpoint, proxy, or timeout= too short?)"
	case isRefused(err):
		return "nothing answers at the EC2 endpoint (ec2_endpoint=, AWS_ENDPOINT_URL_EC2 or AWS_ENDPOINT_URL wrong?)"
	}
	return ""
}

// hopLimitHint is the usual cause of an IMDSv2 token request that gets no
// answer, and what to do.
const hopLimitHint = "running in a container? the IMDSv2 token answer is dropped when the instance's HttpPutResponseHopLimit is 1; set it to 2 (aws ec2 modify-instance-metadata-options --instance-id … --http-put-response-hop-limit 2 --http-tokens required) or use host networking, or give instance= and region= to skip IMDS"

// explainIMDS turns a failed IMDS lookup into an *Error with the likely
// cause.
func explainIMDS(endpoint string, elapsed time.Duration, err error) *Error {
	e := &Error{Op: "IMDS", Elapsed: elapsed, Err: err}
	if endpoint == "" {
		endpoint = "http://169.254.169.254"
	}
	text := err.Error()
	token := strings.Contains(text, "API token")
	code := 0
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		code = status.HTTPStatusCode()
	} else if m := statusRE.FindStringSubmatch(text); m != nil {
		// The IMDS client wraps token errors in a type without Unwrap.
		code, _ = strconv.Atoi(m[1])
	}
	switch {
	case strings.Contains(text, "AWS_EC2_METADATA_DISABLED") || strings.Contains(text, "access disabled"):
		e.Err = errors.New("IMDS is disabled (AWS_EC2_METADATA_DISABLED=true)")
		e.Hint = "give instance= and region= in haresources, or unset AWS_EC2_METADATA_DISABLED"
	case token && isTimeout(err):
		e.Err = fmt.Errorf("IMDSv2 token request (PUT %s/latest/api/token) timed out", endpoint)
		e.Hint = hopLimitHint
	case token && code == 403:
		e.Err = fmt.Errorf("IMDS refused an IMDSv2 token (403 from PUT %s/latest/api/token)", endpoint)
		e.Hint = "the metadata service is turned off on this instance (HttpEndpoint=disabled): enable it (aws ec2 modify-instance-metadata-options --http-endpoint enabled) or give instance= and region="
	case code == 401:
		e.Err = fmt.Errorf("IMDS rejected the IMDSv2 session token (401 from %s)", endpoint)
		e.Hint = "hbd never falls back to IMDSv1; if this persists, check that nothing between hbd and IMDS strips the X-aws-ec2-metadata-token header"
	case isTimeout(err):
		e.Err = fmt.Errorf("no answer from IMDS at %s in time", endpoint)
		e.Hint = "not on EC2, or the metadata service is unreachable: " + hopLimitHint
	case isRefused(err):
		e.Err = fmt.Errorf("IMDS unreachable at %s", endpoint)
		e.Hint = "not on EC2? give instance= and region= in haresources"
	}
	return e
}

var statusRE = regexp.MustCompile(`StatusCode: (\d{3})`)

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	t := err.Error()
	return strings.Contains(t, "timeout") || strings.Contains(t, "deadline exceeded")
}

func isRefused(err error) bool {
	t := err.Error()
	return strings.Contains(t, "connection refused") || strings.Contains(t, "no route to host") || strings.Contains(t, "network is unreachable") || strings.Contains(t, "no such host")
}

// oneLine keeps a message on one log line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Millisecond)
}
