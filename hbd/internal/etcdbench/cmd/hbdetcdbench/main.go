//go:build linux

// Command hbdetcdbench measures the etcd backend at scale (make
// bench-etcd; package hbd/internal/etcdbench). `hbdetcdbench node ...` is
// one node, as the benchmark starts it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hbdproject/hbd/hbd/internal/etcdbench"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "node" {
		os.Exit(node(os.Args[2:]))
	}
	fs := flag.NewFlagSet("hbdetcdbench", flag.ExitOnError)
	sizes := fs.String("sizes", "3x200,16x200", "NODESxGROUPS of each benchmark, comma-separated")
	ttl := fs.Duration("ttl", 10*time.Second, "the nodes' lease TTL (etcd_lease)")
	runs := fs.Int("runs", 3, "kills per benchmark")
	rest := fs.Duration("rest", 30*time.Second, "how long the cluster is measured at rest")
	hbd := fs.String("hbd", "", "run each node as `hbd run` of this binary (backend etcd, a reporting script per group) instead of the ownership loop alone")
	sleep := fs.Duration("start-sleep", 0, "with -hbd: how long each group's start script sleeps before it reports the start")
	_ = fs.Parse(os.Args[1:])
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	var results []etcdbench.Result
	for _, size := range strings.Split(*sizes, ",") {
		n, g, ok := strings.Cut(size, "x")
		nodes, err1 := strconv.Atoi(n)
		groups, err2 := strconv.Atoi(g)
		if !ok || err1 != nil || err2 != nil || nodes < 2 || groups < 1 {
			fmt.Fprintf(os.Stderr, "-sizes: %q is not NODESxGROUPS (at least 2 nodes)\n", size)
			os.Exit(2)
		}
		dir, err := os.MkdirTemp("", "hbdetcdbench-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		r, err := etcdbench.Run(ctx, etcdbench.Config{Nodes: nodes, Groups: groups, TTL: *ttl, Runs: *runs, Rest: *rest, Self: self, Hbd: *hbd, StartSleep: *sleep, Dir: dir, Log: os.Stderr})
		os.RemoveAll(dir)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", size, err)
			os.Exit(1)
		}
		results = append(results, r)
	}
	etcdbench.Table(os.Stdout, results)
}

// node runs one node until SIGTERM.
func node(args []string) int {
	fs := flag.NewFlagSet("hbdetcdbench node", flag.ExitOnError)
	name := fs.String("name", "", "this node")
	nodes := fs.String("nodes", "", "every node, comma-separated")
	groups := fs.Int("groups", 0, "how many groups")
	endpoints := fs.String("endpoints", "", "etcd client URLs, comma-separated")
	ttl := fs.Duration("ttl", 10*time.Second, "lease TTL")
	_ = fs.Parse(args)
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer cancel()
	err := etcdbench.RunNode(ctx, etcdbench.NodeConfig{Name: *name, Nodes: strings.Split(*nodes, ","), Groups: *groups,
		Endpoints: strings.Split(*endpoints, ","), TTL: *ttl}, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "node %s: %v\n", *name, err)
		return 1
	}
	return 0
}
