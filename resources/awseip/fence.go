package awseip

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/hbdproject/hbd/resources/agents"
)

// fenceIMDSTimeout bounds the fence's question to IMDS for the region.
const fenceIMDSTimeout = 5 * time.Second

// Fence is ha.cf's fence_aws: StopInstances (Force) of the silent node's
// instance, or AssociateAddress of the Elastic IP to this node's instance
// with AllowReassociation. The credentials are the SDK's default chain.
func Fence(ctx context.Context, r agents.FenceRequest) (string, error) {
	return fence(ctx, r, nil)
}

// fence is Fence with credentials that replace the SDK's default chain
// (tests) when not nil.
func fence(ctx context.Context, r agents.FenceRequest, creds aws.CredentialsProvider) (string, error) {
	// Everything that comes from the instance metadata (the region when
	// ha.cf names none, instance-profile credentials) is asked through an
	// IMDSv2-only client, as the agent does: no IMDSv1 fallback.
	md := IMDSClient("")
	region := r.Region
	if region == "" {
		_, reg, err := LookupIdentity(ctx, md, "", fenceIMDSTimeout)
		if err != nil {
			return "", fmt.Errorf("fence_aws: no region= and %w", err)
		}
		region = reg
	}
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(region),
		awsconfig.WithEC2RoleCredentialOptions(func(o *ec2rolecreds.Options) { o.Client = md }),
	}
	if creds != nil {
		opts = append(opts, awsconfig.WithCredentialsProvider(creds))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return "", fmt.Errorf("fence_aws: loading the AWS configuration: %w", err)
	}
	client := ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		if r.Endpoint != "" {
			o.BaseEndpoint = aws.String(r.Endpoint)
		}
	})
	switch r.Action {
	case agents.FenceStop:
		out, err := client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{r.Target}, Force: aws.Bool(true)})
		if err != nil {
			return "", ExplainEC2("StopInstances", r.Target+" in "+cfg.Region, err)
		}
		for _, s := range out.StoppingInstances {
			if s.CurrentState != nil {
				return fmt.Sprintf("instance %s of %s is %s", r.Target, r.Node, s.CurrentState.Name), nil
			}
		}
		return fmt.Sprintf("instance %s of %s stopping", r.Target, r.Node), nil
	case agents.FenceReassociate:
		out, err := client.AssociateAddress(ctx, &ec2.AssociateAddressInput{
			AllocationId: aws.String(r.AllocationID), InstanceId: aws.String(r.Self), AllowReassociation: aws.Bool(true),
		})
		if err != nil {
			return "", ExplainEC2("AssociateAddress", r.AllocationID+" in "+cfg.Region, err)
		}
		return fmt.Sprintf("%s moved from %s to %s (association %s)", r.AllocationID, r.Node, r.Self, aws.ToString(out.AssociationId)), nil
	}
	return "", fmt.Errorf("fence_aws: unknown action %q", r.Action)
}
