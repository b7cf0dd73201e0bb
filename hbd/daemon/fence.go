package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/resources/awseip"
)

// Fencer runs one fencing attempt for a node, as ha.cf's fence_command
// or fence_aws says: ok when the node is fenced, detail for the log.
type Fencer struct {
	Fence    config.FenceConfig
	ThisNode string
	// Credentials replaces the AWS SDK's default chain (tests).
	Credentials aws.CredentialsProvider
	// Log receives fence_command's output lines at debug level; may be nil.
	Log logrus.FieldLogger
}

// fenceOutputLimit bounds how much of fence_command's output is kept (the
// end of it): a program that writes without end costs no memory.
const fenceOutputLimit = 8 << 10

// fenceIMDSTimeout bounds fence_aws's question to IMDS for the region.
const fenceIMDSTimeout = 5 * time.Second

// Run fences node within the fence timeout.
func (f Fencer) Run(ctx context.Context, node string) (ok bool, detail string) {
	timeout := f.Fence.Timeout
	if timeout <= 0 {
		timeout = config.DefaultFenceTimeout
	}
	start := time.Now()
	var err error
	switch {
	case len(f.Fence.Command) > 0:
		detail, err = f.command(ctx, node, timeout)
	case f.Fence.AWS != nil:
		actx, cancel := context.WithTimeout(ctx, timeout)
		detail, err = f.aws(actx, node)
		cancel()
	default:
		err = errors.New("no fencing method configured")
	}
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		if detail != "" {
			return false, fmt.Sprintf("%v after %s; output: %s", err, took, detail)
		}
		return false, fmt.Sprintf("%v after %s", err, took)
	}
	if detail == "" {
		return true, fmt.Sprintf("%s in %s", f.Fence.Method(), took)
	}
	return true, fmt.Sprintf("%s in %s: %s", f.Fence.Method(), took, detail)
}

// command runs fence_command NODE as harc runs scripts: in its own process
// group, killed whole once the fence timeout passes, its output bounded
// (the last fenceOutputLimit bytes) and not waited for once it has exited
// (a child it left behind may keep the pipe open). Exit status 0 means
// fenced.
func (f Fencer) command(ctx context.Context, node string, timeout time.Duration) (string, error) {
	res := harc.Command{
		Path:        f.Fence.Command[0],
		Args:        append(append([]string(nil), f.Fence.Command[1:]...), node),
		Env:         os.Environ(),
		Timeout:     timeout,
		OutputLimit: fenceOutputLimit,
		Log:         f.Log,
		Tag:         "fence_command",
	}.Run(ctx)
	text := strings.Join(res.LastLines(3), " | ")
	if !res.OK() {
		why := res.Describe()
		if res.TimedOut {
			why = fmt.Sprintf("timed out (fence_timeout %s): process group killed", timeout)
		}
		return text, fmt.Errorf("fence_command %s %s: %s", strings.Join(f.Fence.Command, " "), node, why)
	}
	return text, nil
}

// aws runs the built-in AWS fence: StopInstances (Force) of the node's
// instance, or AssociateAddress of the Elastic IP to this node's
// instance with AllowReassociation.
func (f Fencer) aws(ctx context.Context, node string) (string, error) {
	a := f.Fence.AWS
	target, ok := a.Instances[node]
	if !ok {
		return "", fmt.Errorf("fence_aws: node %s has no instance id", node)
	}
	// Everything that comes from the instance metadata (the region when
	// ha.cf names none, instance-profile credentials) is asked through an
	// IMDSv2-only client, as the awseip agent does: no IMDSv1 fallback.
	md := awseip.IMDSClient("")
	region := a.Region
	if region == "" {
		_, r, err := awseip.LookupIdentity(ctx, md, "", fenceIMDSTimeout)
		if err != nil {
			return "", fmt.Errorf("fence_aws: no region= and %w", err)
		}
		region = r
	}
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(region),
		awsconfig.WithEC2RoleCredentialOptions(func(o *ec2rolecreds.Options) { o.Client = md }),
	}
	if f.Credentials != nil {
		opts = append(opts, awsconfig.WithCredentialsProvider(f.Credentials))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return "", fmt.Errorf("fence_aws: loading the AWS configuration: %w", err)
	}
	client := ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		if a.Endpoint != "" {
			o.BaseEndpoint = aws.String(a.Endpoint)
		}
	})
	switch a.Action {
	case config.FenceAWSStop:
		out, err := client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{target}, Force: aws.Bool(true)})
		if err != nil {
			return "", awseip.ExplainEC2("StopInstances", target+" in "+cfg.Region, err)
		}
		for _, s := range out.StoppingInstances {
			if s.CurrentState != nil {
				return fmt.Sprintf("instance %s of %s is %s", target, node, s.CurrentState.Name), nil
			}
		}
		return fmt.Sprintf("instance %s of %s stopping", target, node), nil
	case config.FenceAWSReassociate:
		self, ok := a.Instances[f.ThisNode]
		if !ok {
			return "", fmt.Errorf("fence_aws: this node %s has no instance id", f.ThisNode)
		}
		out, err := client.AssociateAddress(ctx, &ec2.AssociateAddressInput{
			AllocationId: aws.String(a.AllocationID), InstanceId: aws.String(self), AllowReassociation: aws.Bool(true),
		})
		if err != nil {
			return "", awseip.ExplainEC2("AssociateAddress", a.AllocationID+" in "+cfg.Region, err)
		}
		return fmt.Sprintf("%s moved from %s to %s (association %s)", a.AllocationID, node, self, aws.ToString(out.AssociationId)), nil
	}
	return "", fmt.Errorf("fence_aws: unknown action %q", a.Action)
}

// fence runs a Fence in the background; its FenceDone comes back through
// the event loop.
func (d *Daemon) fence(a cluster.Fence) {
	f := Fencer{Fence: d.cfg.Fence, ThisNode: d.cfg.ThisNode, Log: d.log}
	d.log.Warnf("Fencing %s: %s", a.Node, f.Fence.Method())
	d.opsWG.Add(1)
	go func() {
		defer d.opsWG.Done()
		ok, detail := f.Run(d.opsCtx, a.Node)
		d.sbEvents <- cluster.FenceDone{Now: time.Now(), Node: a.Node, OK: ok, Detail: detail}
	}()
}
