// Package etcdbench measures the etcd backend at scale on one machine
// (make bench-etcd, docs/benchmarks.md "The etcd backend at scale"): an
// embedded three-member etcd cluster in the harness's process, and each
// hbd node as its own process: either the ownership loop (hbd/etcdown)
// with a runner that only reports its starts and stops, so that the
// figures are the backend's own (leases, watch, placement), or, with
// Config.Hbd, a real `hbd run` with `backend etcd` whose groups are each
// one resource script that reports (hbdnode.go).
//
// It measures, with every group on its preferred node: etcd's requests
// per second at rest (from etcd's own gRPC metrics), each node's CPU and
// memory (from /proc); then, for each run, the time from a node's kill -9
// to every one of its groups started elsewhere, and from the first of
// those starts to the last (the takeover without the lease).
package etcdbench
