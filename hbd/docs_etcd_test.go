package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/hbdproject/hbd/hbd/internal/doccheck"
	"github.com/hbdproject/hbd/hbd/internal/etcdtest"
)

// The etcd guide's authentication block, run against etcd members that
// require client certificates: the block must leave a node's
// certificate able to do what hbd does under /hbd/, and nothing
// elsewhere. A block that grants a role it never made, or never turns
// authentication on, fails here as it fails the reader.

// etcdAuthBlock is the block after <!-- etcd-auth --> in the etcd guide.
func etcdAuthBlock(t *testing.T) string {
	t.Helper()
	for _, b := range doccheck.Blocks(readDoc(t, filepath.Join("docs", "guide-etcd.md"))) {
		if b.Marker == "etcd-auth" {
			return b.Body
		}
	}
	t.Fatal("docs/guide-etcd.md has no block marked <!-- etcd-auth -->")
	return ""
}

// etcdClient is a client of the cluster authenticated by a certificate
// of p's named user (its etcd user).
func etcdClient(t *testing.T, p *etcdtest.PKI, c *etcdtest.Cluster, user string) *clientv3.Client {
	t.Helper()
	certFile, keyFile := p.Issue(t, user, x509.ExtKeyUsageClientAuth)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(p.CACert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		TLS: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, Certificates: []tls.Certificate{cert}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// etcdctlLines expands a shell block of etcdctl commands: one command a
// line, and `for V in WORDS; do` ... `done` repeating the lines between
// with $V replaced. Each result keeps its line in the block.
func etcdctlLines(block string) (lines []doccheck.Located, problems []string) {
	src := strings.Split(block, "\n")
	for i := 0; i < len(src); i++ {
		l := strings.TrimSpace(src[i])
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Fields(l)
		if f[0] != "for" {
			lines = append(lines, doccheck.Located{Text: l, Line: i + 1})
			continue
		}
		if len(f) < 5 || f[2] != "in" || f[len(f)-1] != "do" || !strings.HasSuffix(f[len(f)-2], ";") {
			problems = append(problems, fmt.Sprintf("line %d: %q: want `for V in WORDS; do`", i+1, l))
			continue
		}
		words := append(f[3:len(f)-2:len(f)-2], strings.TrimSuffix(f[len(f)-2], ";"))
		var body []doccheck.Located
		j := i + 1
		for ; j < len(src) && strings.TrimSpace(src[j]) != "done"; j++ {
			body = append(body, doccheck.Located{Text: strings.TrimSpace(src[j]), Line: j + 1})
		}
		if j == len(src) {
			problems = append(problems, fmt.Sprintf("line %d: for without done", i+1))
		}
		for _, w := range words {
			for _, b := range body {
				lines = append(lines, doccheck.Located{Text: strings.ReplaceAll(b.Text, "$"+f[1], w), Line: b.Line})
			}
		}
		i = j
	}
	return lines, problems
}

// runEtcdctl does what one etcdctl command line does, through admin's
// client; the commands the guide uses only.
func runEtcdctl(ctx context.Context, admin *clientv3.Client, line string) error {
	f := strings.Fields(line)
	if len(f) < 3 || f[0] != "etcdctl" {
		return errors.New("the test does not know how to run this")
	}
	var err error
	switch args := f[3:]; f[1] + " " + f[2] {
	case "user add":
		if len(args) != 2 || args[1] != "--no-password" {
			return errors.New("want `etcdctl user add NAME --no-password`: the nodes log in with their certificates, and anything else asks for a password")
		}
		_, err = admin.UserAddWithOptions(ctx, args[0], "", &clientv3.UserAddOptions{NoPassword: true})
	case "user grant-role":
		if len(args) != 2 {
			return errors.New("want `etcdctl user grant-role USER ROLE`")
		}
		_, err = admin.UserGrantRole(ctx, args[0], args[1])
	case "role add":
		if len(args) != 1 {
			return errors.New("want `etcdctl role add ROLE`")
		}
		_, err = admin.RoleAdd(ctx, args[0])
	case "role grant-permission":
		if len(args) != 4 || args[1] != "--prefix=true" {
			return errors.New("want `etcdctl role grant-permission ROLE --prefix=true read|write|readwrite KEY`")
		}
		perm, ok := map[string]clientv3.PermissionType{"read": clientv3.PermissionType(clientv3.PermRead),
			"write": clientv3.PermissionType(clientv3.PermWrite), "readwrite": clientv3.PermissionType(clientv3.PermReadWrite)}[args[2]]
		if !ok {
			return fmt.Errorf("permission %q: read, write or readwrite", args[2])
		}
		_, err = admin.RoleGrantPermission(ctx, args[0], args[3], clientv3.GetPrefixRangeEnd(args[3]), perm)
	case "auth enable":
		_, err = admin.AuthEnable(ctx)
	default:
		return errors.New("the test does not know how to run this")
	}
	return err
}

// nodeCanRun says what a node's client cannot do of what hbd does under
// prefix (a lease, keys under it, a transaction, a read of the prefix),
// and whether it may write outside the prefix (it must not).
func nodeCanRun(ctx context.Context, cli *clientv3.Client, prefix string) []string {
	var problems []string
	lease, err := cli.Grant(ctx, 10)
	if err != nil {
		return []string{fmt.Sprintf("node1 cannot take a lease: %v", err)}
	}
	steps := []struct {
		what string
		do   func() error
	}{
		{"write its member key", func() error {
			_, err := cli.Put(ctx, prefix+"members/node1", "1", clientv3.WithLease(lease.ID))
			return err
		}},
		{"claim a group", func() error {
			k := prefix + "owner/web"
			_, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).Then(clientv3.OpPut(k, "node1", clientv3.WithLease(lease.ID))).Commit()
			return err
		}},
		{"read the prefix", func() error { _, err := cli.Get(ctx, prefix, clientv3.WithPrefix()); return err }},
		{"delete its key", func() error { _, err := cli.Delete(ctx, prefix+"owner/web"); return err }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			problems = append(problems, fmt.Sprintf("node1 cannot %s under %s: %v", s.what, prefix, err))
		}
	}
	_, err = cli.Put(ctx, "/elsewhere", "x")
	switch {
	case err == nil:
		problems = append(problems, "node1 may write /elsewhere: authentication is not on, or its role reaches past the prefix")
	case !errors.Is(err, rpctypes.ErrPermissionDenied):
		problems = append(problems, fmt.Sprintf("node1 writing /elsewhere: %v, want permission denied", err))
	}
	return problems
}

// runEtcdAuth runs block as root against a fresh cluster that requires
// client certificates, then holds node1's certificate to nodeCanRun.
func runEtcdAuth(t *testing.T, block string) []string {
	t.Helper()
	p := etcdtest.NewPKI(t, "hbd etcd")
	c := etcdtest.Start(t, p.Members(t))
	admin := etcdClient(t, p, c, "root")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lines, problems := etcdctlLines(block)
	for _, l := range lines {
		if err := runEtcdctl(ctx, admin, l.Text); err != nil {
			problems = append(problems, fmt.Sprintf("line %d: %s: %v", l.Line, l.Text, err))
		}
	}
	return append(problems, nodeCanRun(ctx, etcdClient(t, p, c, "node1"), "/hbd/")...)
}

func TestEtcdGuideAuth(t *testing.T) {
	for _, p := range runEtcdAuth(t, etcdAuthBlock(t)) {
		t.Error(p)
	}
}

// TestEtcdGuideAuthFails: the block without a step it needs, or with one
// the test cannot run, leaves node1 unable to run or free to write
// anywhere, and says so.
func TestEtcdGuideAuthFails(t *testing.T) {
	block := etcdAuthBlock(t)
	without := func(step string) string {
		if !strings.Contains(block, step) {
			t.Fatalf("the guide's block has no %q", step)
		}
		var kept []string
		for _, l := range strings.Split(block, "\n") {
			if !strings.Contains(l, step) {
				kept = append(kept, l)
			}
		}
		return strings.Join(kept, "\n")
	}
	tests := []struct {
		name, block string
		want        []string
	}{
		{"only the grant, as the guide once had it", "etcdctl role grant-permission hbd --prefix=true readwrite /hbd/\n", []string{"role name not found", "node1 may write /elsewhere"}},
		{"without making the role", without("role add"), []string{"role name not found", "node1 cannot write its member key"}},
		{"without root's role", without("grant-role root root"), []string{"auth enable: etcdserver: root user does not have root role", "node1 may write /elsewhere"}},
		{"without the nodes' role", without("grant-role $n hbd"), []string{"node1 cannot write its member key", "permission denied"}},
		{"without auth enable", without("auth enable"), []string{"node1 may write /elsewhere"}},
		{"a password", strings.Replace(block, "user add $n --no-password", "user add $n", 1), []string{"want `etcdctl user add NAME --no-password`"}},
		{"an unknown step", block + "etcdctl frob\n", []string{`etcdctl frob: the test does not know how to run this`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantProblems(t, runEtcdAuth(t, tt.block), tt.want)
		})
	}
}

// etcdctlFlagConflicts finds the etcdctl command lines of a page that
// pass a flag whose ETCDCTL_ variable an earlier line of the page
// exported: etcdctl 3.4 refuses to run them ("conflicting environment
// variable ... is shadowed by corresponding command-line flag").
func etcdctlFlagConflicts(md string) []string {
	exported := map[string]bool{}
	var problems []string
	for i, line := range strings.Split(md, "\n") {
		f := strings.Fields(line)
		for j, w := range f {
			switch {
			case w == "export":
				for _, a := range f[j+1:] {
					if name, _, ok := strings.Cut(a, "="); ok && strings.HasPrefix(name, "ETCDCTL_") {
						exported[name] = true
					}
				}
			case strings.Trim(w, "`") == "etcdctl":
				for _, a := range f[j+1:] {
					if a == "#" || strings.HasPrefix(a, "`") || strings.HasSuffix(a, "`") {
						break
					}
					name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
					v := "ETCDCTL_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
					if strings.HasPrefix(a, "--") && exported[v] {
						problems = append(problems, fmt.Sprintf("line %d: %s while %s is exported (line before): etcdctl refuses both; set the variable on the command line instead (%s=... etcdctl ...)", i+1, a, v, v))
					}
				}
			}
		}
	}
	return problems
}

func TestEtcdctlFlagConflicts(t *testing.T) {
	for name, md := range markdownPages(t) {
		for _, p := range etcdctlFlagConflicts(md) {
			t.Errorf("%s: %s", name, p)
		}
	}
}

// TestEtcdctlFlagConflictsFails: a flag after its variable's export is
// caught; before it, beside another variable, or as the variable on the
// command line, it is not.
func TestEtcdctlFlagConflictsFails(t *testing.T) {
	const export = "export ETCDCTL_ENDPOINTS=https://a:2379\nexport ETCDCTL_CACERT=ca.pem ETCDCTL_CERT=root.pem ETCDCTL_KEY=root-key.pem\n"
	tests := []struct {
		name, md string
		want     []string
	}{
		{"the guide's old check", export + "etcdctl --cert node1.pem --key node1-key.pem put /elsewhere x   # Error\n",
			[]string{"line 3: --cert while ETCDCTL_CERT is exported", "line 3: --key while ETCDCTL_KEY is exported"}},
		{"with =", export + "    etcdctl --endpoints=https://b:2379 get /hbd/\n", []string{"--endpoints=https://b:2379 while ETCDCTL_ENDPOINTS"}},
		{"before the export", "etcdctl --cert node1.pem get x\n" + export, nil},
		{"another flag", export + "etcdctl --prefix=true get /hbd/\n", nil},
		{"the variable on the line", export + "ETCDCTL_CERT=node1.pem ETCDCTL_KEY=node1-key.pem etcdctl put /elsewhere x\n", nil},
		{"in prose", export + "run `etcdctl role grant-permission hbd --prefix=true readwrite /hbd/` then\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblems(t, etcdctlFlagConflicts(tt.md), tt.want)
		})
	}
}
