package awseip

import (
	"io"

	"github.com/hbdproject/hbd/resources/agents"
)

// Agents are the agent's entry in hbd's registry: hbd checks haresources
// with ParseParams, runs the agent with Main (also when linked as
// resource.d/awseip), and fences with Fence (ha.cf fence_aws, whose
// allocation id and region `hbd check` checks with the same parsers).
func Agents() []agents.Agent {
	return []agents.Agent{{
		Name:    "awseip",
		Program: true,
		Check: func(_ string, args []string) error {
			_, err := ParseParams(args)
			return err
		},
		Main:        func(_ string, args []string, stdout, stderr io.Writer) int { return Main(args, stdout, stderr) },
		Fence:       Fence,
		FenceMethod: "aws",
		CheckFence:  checkFence,
	}}
}

// checkFence checks a fence_aws request's allocation id (reassociate)
// and region (when given) as ParseParams checks a resource's.
func checkFence(r agents.FenceRequest) error {
	if r.Action == agents.FenceReassociate {
		if err := checkAllocationID(r.AllocationID); err != nil {
			return err
		}
	}
	if r.Region != "" {
		return checkRegion(r.Region)
	}
	return nil
}
