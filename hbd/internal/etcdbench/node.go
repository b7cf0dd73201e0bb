package etcdbench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/etcdown"
)

// NodeConfig is one node of the benchmark.
type NodeConfig struct {
	Name      string
	Nodes     []string
	Groups    int
	Endpoints []string
	TTL       time.Duration
}

// groupName is the key of group i (0-based).
func groupName(i int) string { return fmt.Sprintf("g%03d", i+1) }

// preferred is group i's preferred node: the nodes in turn.
func preferred(nodes []string, i int) string { return nodes[i%len(nodes)] }

// slowestStop is the stop bound the nodes declare (their stops do
// nothing).
const slowestStop = time.Second

// RunNode runs one node's ownership loop until ctx ends, reporting each
// start and stop to out as "start|stop GROUP TOKEN UNIXNANO" lines.
func RunNode(ctx context.Context, c NodeConfig, out io.Writer) error {
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return fmt.Errorf("etcd client: %w", err)
	}
	defer cli.Close()
	o := etcdown.Options{
		Node: c.Name, Nodes: c.Nodes, Failback: true, Prefix: "/hbd-bench/",
		TTL: c.TTL, SlowestStop: slowestStop, Runner: &reporter{out: out},
	}
	for i := range c.Groups {
		o.Groups = append(o.Groups, cluster.PlacedGroup{Key: groupName(i), Preferred: preferred(c.Nodes, i)})
	}
	return etcdown.New(cli, o).Run(ctx)
}

// reporter is a Runner that only reports.
type reporter struct {
	mu  sync.Mutex
	out io.Writer
}

func (r *reporter) report(what, g string, token int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := fmt.Fprintf(r.out, "%s %s %d %d\n", what, g, token, time.Now().UnixNano())
	return err
}

func (r *reporter) Start(_ context.Context, g string, token int64) error {
	return r.report("start", g, token)
}

func (r *reporter) Stop(_ context.Context, g string, token int64) error {
	return r.report("stop", g, token)
}
