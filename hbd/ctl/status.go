package ctl

import (
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/link"
	"github.com/hbdproject/hbd/hbd/logging"
	"github.com/hbdproject/hbd/hbd/monitor"
)

// Status is the daemon's answer to the "status" command: what `hbd
// status` and cl_status show.
type Status struct {
	Node      string                    `json:"node"`
	PID       int                       `json:"pid"`
	Started   time.Time                 `json:"started"`
	ConfigDir string                    `json:"config_dir"`
	Cluster   cluster.Status            `json:"cluster"`
	Links     map[string]link.LinkStats `json:"links"`
	// Rejected are the senders of datagrams that failed to decode or
	// verify, most recently seen first, a bounded number of them (the
	// daemon's drop table); RejectedEvicted counts those of the senders
	// no longer listed, so that both together are every rejected datagram.
	Rejected        []DropStat    `json:"rejected"`
	RejectedEvicted *EvictedDrops `json:"rejected_evicted,omitempty"`
	Generation      uint64        `json:"generation"`
	// Monitors has one entry per ha.cf monitor line (none without).
	Monitors []monitor.ResourceStatus `json:"monitors,omitempty"`
	// Ping is "REACHABLE/TOTAL" of this node's ping nodes ("" without).
	Ping string `json:"ping,omitempty"`
	// Log is how the daemon's log writer is doing: the lines it dropped
	// since the start and the write that has not returned, if any;
	// absent when nothing was dropped and nothing is stuck.
	Log logging.Health `json:"log,omitzero"`
	// GroupNames are the names each group answers to (hbd group, hbd
	// cleanup), by key, its key first (config.Config.GroupNames).
	GroupNames map[string][]string `json:"group_names,omitempty"`
	// Nodes are ha.cf's nodes, in order.
	Nodes []string `json:"nodes,omitempty"`
	// Backend is ha.cf's backend ("heartbeat" or "etcd"); with etcd,
	// Etcd is the ownership as etcd has it, and Cluster, Links and
	// Rejected are empty (no Heartbeat core, no media).
	Backend string      `json:"backend,omitempty"`
	Etcd    *EtcdStatus `json:"etcd,omitempty"`
}

// DropStat is one sender's datagrams that the daemon rejected before
// they reached the core (bad framing or signature), by reason.
type DropStat struct {
	Claimed  string            `json:"claimed_src,omitempty"`
	From     string            `json:"from"`
	Reasons  map[string]uint64 `json:"reasons"`
	LastSeen time.Time         `json:"last_seen"`
}

// EvictedDrops are the rejected datagrams of the senders the daemon's drop
// table forgot to make room for others.
type EvictedDrops struct {
	Senders uint64            `json:"senders"` // evictions: a sender seen again after its eviction counts again
	Reasons map[string]uint64 `json:"reasons"`
}

// Pending is the daemon's answer to the "pending" command: what a reload
// would do now, the changes or the errors that would make it refuse.
type Pending struct {
	ConfigDir string   `json:"config_dir"`
	Changes   []string `json:"changes,omitempty"`
	Errors    []string `json:"errors,omitempty"`
}

// SettingRow is one cluster-wide setting as `hbd settings list` shows
// it. Name, Value and Origin are as the daemon shows them: as they are
// when printable text, Go-quoted in ASCII otherwise (a peer's junk may
// hold any byte but white space: bytes a terminal acts on, or not UTF-8,
// which JSON would not carry).
type SettingRow struct {
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Value      string `json:"value"`
	Version    uint64 `json:"version"`
	Origin     string `json:"origin"`
	Configured bool   `json:"configured"` // this node's configuration has the name
}
