package main

import (
	"context"
	"errors"
)

// errNetnsNotYet: the namespace variant of the demo is not written yet.
var errNetnsNotYet = errors.New("NETNS=1 (the demo in network namespaces with a real floating IP) is not written yet; `make demo` runs the same story on loopback")

func (d *demo) runNetns(context.Context) error { return errNetnsNotYet }
