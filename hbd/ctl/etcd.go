package ctl

import "time"

// EtcdStatus is what `hbd status` shows with `backend etcd`: this node's
// lease and, as etcd has them, the live members and each group's owner.
type EtcdStatus struct {
	Endpoints []string `json:"endpoints"`
	Prefix    string   `json:"prefix"`
	// Lease is this node's lease id in hex ("" while it has none); TTL
	// its time to live.
	Lease string `json:"lease,omitempty"`
	TTL   string `json:"ttl"`
	// LeaseUntil: the lease lives at least until then; StopBy: this node
	// stops its groups then unless the lease is renewed before.
	LeaseUntil *time.Time `json:"lease_until,omitempty"`
	StopBy     *time.Time `json:"stop_by,omitempty"`
	// Revision is etcd's revision when Members and Groups were read.
	Revision int64    `json:"revision,omitempty"`
	Members  []string `json:"members"`
	// Standby are the nodes an operator put in standby.
	Standby []string `json:"standby,omitempty"`
	// Groups are haresources' groups, in order, with their owners.
	Groups []EtcdGroup `json:"groups"`
	// Error says why etcd could not be read (Members and owners are then
	// unknown; what runs here is still listed).
	Error string `json:"error,omitempty"`
	// Stopping: the node is releasing its groups to exit.
	Stopping bool `json:"stopping,omitempty"`
}

// EtcdGroup is one group's owner key as etcd has it.
type EtcdGroup struct {
	Key       string `json:"key"`
	Preferred string `json:"preferred"`
	// Owner is the node whose owner key it is ("" nobody's); Token the
	// revision that created the key: the fencing token.
	Owner string `json:"owner,omitempty"`
	Token int64  `json:"token,omitempty"`
	// Running: it runs on this node (its start has ended); Starting:
	// its start is under way here; StopFailed: its stop failed here and
	// it is kept, with its owner key, until hbd cleanup (Running too).
	// RunningToken is the fencing token it runs, or is being started,
	// under.
	Running      bool  `json:"running,omitempty"`
	Starting     bool  `json:"starting,omitempty"`
	StopFailed   bool  `json:"stop_failed,omitempty"`
	RunningToken int64 `json:"running_token,omitempty"`
	// Disabled, MovedTo, MovedAway: the operator's settings of the group;
	// FailedOn the nodes where it failed (a start or a monitor), which may
	// not hold it until the failure expires or hbd cleanup there.
	Disabled  bool     `json:"disabled,omitempty"`
	MovedTo   string   `json:"moved_to,omitempty"`
	MovedAway string   `json:"moved_away,omitempty"`
	FailedOn  []string `json:"failed_on,omitempty"`
	// StandsBy are the nodes that stand by for it (hbd standby there, or
	// hbd takeover elsewhere): each holds it only when no other node may.
	StandsBy []string `json:"stands_by,omitempty"`
}
