package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

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
}

// Run fences node within the fence timeout.
func (f Fencer) Run(ctx context.Context, node string) (ok bool, detail string) {
	timeout := f.Fence.Timeout
	if timeout <= 0 {
		timeout = config.DefaultFenceTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	var err error
	switch {
	case len(f.Fence.Command) > 0:
		detail, err = f.command(ctx, node)
	case f.Fence.AWS != nil:
		detail, err = f.aws(ctx, node)
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

// command runs fence_command NODE in its own process group (killed
// whole on timeout); exit status 0 means fenced.
func (f Fencer) command(ctx context.Context, node string) (string, error) {
	args := append(append([]string(nil), f.Fence.Command[1:]...), node)
	cmd := exec.Command(f.Fence.Command[0], args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("fence_command: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		err = fmt.Errorf("timed out (fence_timeout): killed")
	}
	text := lastLines(out.String(), 3)
	if err != nil {
		return text, fmt.Errorf("fence_command %s %s: %w", strings.Join(f.Fence.Command, " "), node, err)
	}
	return text, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
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
	opts := []func(*awsconfig.LoadOptions) error{}
	if a.Region != "" {
		opts = append(opts, awsconfig.WithRegion(a.Region))
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
	f := Fencer{Fence: d.cfg.Fence, ThisNode: d.cfg.ThisNode}
	d.log.Warnf("Fencing %s: %s", a.Node, f.Fence.Method())
	d.opsWG.Add(1)
	go func() {
		defer d.opsWG.Done()
		ok, detail := f.Run(d.opsCtx, a.Node)
		d.sbEvents <- cluster.FenceDone{Now: time.Now(), Node: a.Node, OK: ok, Detail: detail}
	}()
}
