package etcdbench

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// etcdCluster is three etcd members in this process, on loopback.
type etcdCluster struct {
	members []*embed.Etcd
	clients []string // client URLs
	metrics []string // metrics URLs
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func loopback(port int) url.URL {
	return url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", port)}
}

// startEtcd starts a three-member cluster with its data under dir, with
// etcd's default timings (heartbeat 100 ms, election 1 s) and fsync.
func startEtcd(dir string) (*etcdCluster, error) {
	ports := make([]int, 9) // client, peer, metrics per member
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	var initial []string
	for i := range 3 {
		u := loopback(ports[3*i+1])
		initial = append(initial, fmt.Sprintf("m%d=%s", i, u.String()))
	}
	c := &etcdCluster{}
	for i := range 3 {
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = filepath.Join(dir, cfg.Name)
		cu, pu, mu := loopback(ports[3*i]), loopback(ports[3*i+1]), loopback(ports[3*i+2])
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
		cfg.ListenMetricsUrls = []url.URL{mu}
		cfg.InitialCluster = strings.Join(initial, ",")
		cfg.InitialClusterToken = "hbd-etcdbench"
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		e, err := embed.StartEtcd(cfg)
		if err != nil {
			c.close()
			return nil, fmt.Errorf("start etcd member %d: %w", i, err)
		}
		c.members = append(c.members, e)
		c.clients = append(c.clients, cu.String())
		c.metrics = append(c.metrics, mu.String()+"/metrics")
	}
	for i, e := range c.members {
		select {
		case <-e.Server.ReadyNotify():
		case <-time.After(30 * time.Second):
			c.close()
			return nil, fmt.Errorf("etcd member %d not ready in 30s", i)
		}
	}
	return c, nil
}

func (c *etcdCluster) close() {
	for _, e := range c.members {
		e.Close()
	}
}
