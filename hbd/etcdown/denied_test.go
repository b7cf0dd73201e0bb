package etcdown

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/internal/etcdtest"
)

// TestAuthRefused: with etcd's authentication on, a node whose etcd user
// (its certificate's common name) does not exist holds nothing, and its
// log and its snapshot name the user and the prefix it needs; once the
// user is added with a role that may read and write the prefix, the
// node takes its group by itself.
func TestAuthRefused(t *testing.T) {
	t.Parallel()
	pki := newPKI(t, "hbd-auth")
	c := etcdtest.Start(t, pki.members)
	eps := c.Endpoints()
	rootCert, rootKey := pki.Issue(t, "root", x509.ExtKeyUsageClientAuth)
	nodeCert, nodeKey := pki.Issue(t, "n1", x509.ExtKeyUsageClientAuth)

	admin, err := Dial(context.Background(), tlsConfig(eps, pki.CACert, rootCert, rootKey))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx := context.Background()
	noPassword := &clientv3.UserAddOptions{NoPassword: true}
	steps := []func() error{
		func() error { _, err := admin.UserAddWithOptions(ctx, "root", "", noPassword); return err },
		func() error { _, err := admin.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := admin.RoleAdd(ctx, "hbd"); return err },
		func() error {
			_, err := admin.RoleGrantPermission(ctx, "hbd", "/hbd/", clientv3.GetPrefixRangeEnd("/hbd/"), clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := admin.AuthEnable(ctx); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("auth set-up step %d: %v", i+1, err)
		}
	}

	cli, err := Dial(ctx, tlsConfig(eps, pki.CACert, nodeCert, nodeKey))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	rec := &record{}
	log := logrus.New()
	logs := &logLines{}
	log.SetOutput(testWriter{t, "n1", logs})
	o := Options{Log: log, Node: "n1", Nodes: []string{"n1"}, Prefix: "/hbd/", User: "n1", TTL: testTTL, SlowestStop: testStop,
		Interval: testInterval, Runner: &fakeRunner{node: "n1", rec: rec}, Groups: []cluster.PlacedGroup{placed("g1", "n1")}}
	w := New(cli, o)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(rctx) }()
	defer func() { cancel(); <-done }()

	const want = "permission denied (etcd's authentication is on and this node's etcd user, n1, must exist and have a role with readwrite on /hbd/"
	waitFor(t, testMove, "a log line naming the user and the prefix", func() bool { return len(logs.with(want)) > 0 })
	if _, err := w.Snapshot(ctx); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("snapshot: %v, want an error saying %q", err, want)
	}
	if r := rec.running(); len(r) != 0 {
		t.Errorf("running %v without access to etcd", r)
	}

	if _, err := admin.UserAddWithOptions(ctx, "n1", "", noPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UserGrantRole(ctx, "n1", "hbd"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testMove, "n1 runs g1 once its user may", func() bool { return rec.running()["g1"] == "n1" })
}

// TestAuthHint: only authentication's refusals get a hint, and a node
// without a certificate is told to get one.
func TestAuthHint(t *testing.T) {
	tests := []struct {
		name, user string
		err        error
		want       string
	}{
		{"another error", "n1", context.DeadlineExceeded, ""},
		{"denied", "n1", rpctypesDenied(), "this node's etcd user, n1, must exist"},
		{"denied, no user known", "", rpctypesDenied(), "the common name of its client certificate, must exist"},
		{"no user", "", rpctypesUserEmpty(), "this node has no etcd user: give it a client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := authHint(tt.err, tt.user, "/hbd/")
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("authHint(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

// The refusals as the client returns them, wrapped as hbd wraps them.
func rpctypesDenied() error    { return fmt.Errorf("read /hbd/: %w", rpctypes.ErrPermissionDenied) }
func rpctypesUserEmpty() error { return fmt.Errorf("read /hbd/: %w", rpctypes.ErrUserEmpty) }

// TestOptionsUser: the user the hints name is the one the configuration
// loaded (config.Etcd.User, from the certificate it checked), not what
// etcd_cert's file holds by the time the loop starts: a file replaced
// since, or one no check read, is never read for a message.
func TestOptionsUser(t *testing.T) {
	other, _ := etcdtest.NewPKI(t, "hbd-user").Issue(t, "other", x509.ExtKeyUsageClientAuth)
	for _, tc := range []struct {
		name string
		etcd config.Etcd
		want string
	}{
		{"loaded", config.Etcd{Cert: other, User: "n1"}, "n1"},
		{"not loaded", config.Etcd{Cert: other}, ""},
		{"no certificate", config.Etcd{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := OptionsFromConfig(&config.Config{Etcd: tc.etcd}, nil).User; got != tc.want {
				t.Errorf("User = %q, want %q", got, tc.want)
			}
		})
	}
}
