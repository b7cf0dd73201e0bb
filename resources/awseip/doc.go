// Package awseip is hbd's built-in awseip resource agent: it moves an AWS
// Elastic IP to this node, what hand-written update-EIP scripts do with
// the aws CLI, with aws-sdk-go-v2.
//
// In haresources:
//
//	node1 awseip::eipalloc-0123456789abcdef0 nginx
//	node1 awseip::eipalloc-0123456789abcdef0::stop=disassociate::region=eu-west-1 nginx
//
// Params lists every NAME=VALUE. The instance id and region come from
// IMDSv2 only (a session token first, short timeouts, never an IMDSv1
// fallback), unless instance= and region= are both given, and then IMDS is
// not contacted at all.
//
//   - start: DescribeAddresses; if the address is not associated with this
//     instance, AssociateAddress(AllocationId, InstanceId,
//     AllowReassociation=true), then DescribeAddresses again until it shows
//     the new association.
//   - status, monitor: DescribeAddresses; running only if the address is
//     associated with this instance (and private_ip=, if given).
//   - stop: stop=keep (default) does nothing: the next holder's
//     AllowReassociation takes the address in one call, and disassociating
//     first would add a window with no holder at all. stop=disassociate
//     calls DisassociateAddress with the association id, only if the
//     address is associated with this instance.
//
// Credentials come from the SDK's default chain (on EC2, the instance
// profile, fetched through the same IMDSv2-only client). EC2 calls are
// retried by the SDK's standard retryer (throttling such as
// RequestLimitExceeded, 5xx, connection errors) with full-jitter backoff,
// all within the operation's timeout. Errors are *Error values: one line
// naming EC2's error code and, for permission errors, the IAM action that
// is missing; an IMDS token request that times out points at the
// container hop limit.
//
// Main runs the agent as a resource script (hbd invoked as awseip, or
// hbd agent awseip ...). Fence is ha.cf's fence_aws, which the daemon
// runs through the registry of built-in agents (Agents). Package ec2fake is the fake EC2 and IMDS the
// tests run against.
package awseip
