package awseip

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/hbdproject/hbd/resources/awseip/ec2fake"
)

const (
	alloc    = "eipalloc-0123456789abcdef0"
	publicIP = "203.0.113.7"
	instA    = "i-0aaaaaaaaaaaaaaa1"
	instB    = "i-0bbbbbbbbbbbbbbb2"
	testKey  = "AKIDHBDTEST"
)

// TestMain keeps the machine's AWS settings out of the tests: no shared
// config or credentials files, no profile, no endpoint or IMDS overrides.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") {
			os.Unsetenv(name)
		}
	}
	os.Setenv("AWS_CONFIG_FILE", os.DevNull)
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	os.Exit(m.Run())
}

// world is one fake region with two instances, A and B, each with its
// metadata server, and one unassociated Elastic IP.
type world struct {
	f      *ec2fake.Fake
	mdA    *ec2fake.IMDS
	mdB    *ec2fake.IMDS
	logbuf *testenv.LockedBuffer
}

func newWorld(t *testing.T) *world {
	t.Helper()
	f := ec2fake.New()
	t.Cleanup(f.Close)
	f.AddInstance(instA, "10.0.0.10", "10.0.0.11")
	f.AddInstance(instB, "10.0.1.20")
	f.AddAddress(alloc, publicIP)
	return &world{f: f, mdA: f.NewIMDS(instA), mdB: f.NewIMDS(instB), logbuf: &testenv.LockedBuffer{}}
}

// params builds the parameters of an agent on the instance md belongs
// to, pointed at the fake, plus extra NAME=VALUE fields.
func (w *world) params(t *testing.T, md *ec2fake.IMDS, extra ...string) Params {
	t.Helper()
	args := append([]string{alloc, "ec2_endpoint=" + w.f.URL(), "imds_endpoint=" + md.URL()}, extra...)
	p, err := ParseParams(args)
	if err != nil {
		t.Fatalf("ParseParams(%q): %v", args, err)
	}
	return p
}

// agent is an agent on md's instance with static test credentials and
// fast retries.
func (w *world) agent(t *testing.T, md *ec2fake.IMDS, extra ...string) *Agent {
	t.Helper()
	return New(w.params(t, md, extra...), Options{
		Credentials: credentials.NewStaticCredentialsProvider(testKey, "secret", ""),
		BaseBackoff: 5 * time.Millisecond,
		MaxBackoff:  20 * time.Millisecond,
		Log:         &prefixWriter{w: w.logbuf, prefix: md.InstanceID() + ": "},
	})
}

// holder says which instance the fake has the address associated with.
func (w *world) holder(t *testing.T) string {
	t.Helper()
	a, ok := w.f.Address(alloc)
	if !ok {
		t.Fatalf("fake lost %s", alloc)
	}
	return a.InstanceID
}

// dumpOnFailure prints the agents' log lines and the fake's calls when
// the test fails.
func (w *world) dumpOnFailure(t *testing.T) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		t.Logf("agent log:\n%s", w.logbuf.String())
		for _, c := range w.f.Calls() {
			t.Logf("call: %s %s %s %s action=%s token=%v status=%d code=%s key=%s", c.Service, c.Instance, c.Method, c.Path, c.Action, c.Token, c.Status, c.Code, c.AccessKeyID)
		}
	})
}

type prefixWriter struct {
	w      *testenv.LockedBuffer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	_, err := fmt.Fprintf(p.w, "%s%s", p.prefix, b)
	return len(b), err
}

// actions lists the EC2 actions called, in order.
func actions(f *ec2fake.Fake) []string {
	var out []string
	for _, c := range f.EC2Calls("") {
		out = append(out, c.Action)
	}
	return out
}
