// Package ec2fake is an in-process stand-in for the parts of Amazon EC2
// that hbd uses: the EC2 Query API (AssociateAddress, DisassociateAddress,
// DescribeAddresses, DescribeInstances, StopInstances) and the instance
// metadata service with IMDSv2 session tokens.
//
// It speaks the real wire protocol, so the real aws-sdk-go-v2 clients talk
// to it unchanged: form-encoded POSTs carrying Action and Version, XML
// answers in the 2016-11-15 namespace, and errors in EC2's envelope
// (<Response><Errors><Error><Code>…</Code><Message>…</Message></Error>
// </Errors><RequestID>…</RequestID></Response>). A request without a SigV4
// Authorization header is refused with AuthFailure; the signature itself is
// not checked.
//
// One Fake holds the state of one region: instances, Elastic IP
// allocations and their associations. Each instance can get its own
// metadata server (NewIMDS), which answers only with a session token
// (PUT /latest/api/token first; a tokenless GET is 401, as on an instance
// with HttpTokens=required) and can be made to behave like IMDS seen from
// a bridged container on an instance whose HttpPutResponseHopLimit is 1:
// the token PUT never gets an answer.
//
// Faults are injected on demand (Inject, Throttle, Deny, Slow): EC2 error
// codes for the next N calls of an action, slow answers, and answers lost
// after the change was applied. Every request is recorded (Calls) so a test
// can assert what was called, with which parameters and credentials.
//
//	f := ec2fake.New()
//	defer f.Close()
//	f.AddInstance("i-0aaa", "10.0.0.10")
//	f.AddAddress("eipalloc-0123456789abcdef0", "203.0.113.7")
//	md := f.NewIMDS("i-0aaa")
//	// point ec2.Options.BaseEndpoint at f.URL() and imds.Options.Endpoint at md.URL()
package ec2fake
