package etcdown

import (
	"sort"
	"strings"
	"sync"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// store is this node's copy of the keys under the prefix, kept by the
// watch (watch.go) and by this node's own writes, which it sees before
// the watch brings them back. Each key keeps the revision of its last
// change (a deleted key stays as a tombstone), so a change older than
// what the store holds is ignored, whatever order the reads, the watch
// and the writes arrive in.
type store struct {
	mu     sync.Mutex
	prefix string
	keys   map[string]entry
	// loaded: a full read has filled the store at least once.
	loaded bool
}

type entry struct {
	kv
	rev     int64 // the revision of the last change
	deleted bool
}

func newStore(prefix string) *store { return &store{prefix: prefix, keys: map[string]entry{}} }

// set takes one change at rev if it is newer than what the store holds.
func (s *store) set(e entry) {
	if cur, ok := s.keys[e.key]; ok && cur.rev >= e.rev {
		return
	}
	s.keys[e.key] = e
}

// reset takes a full read made at revision rev: every key it lacks that
// the store changed at or before rev is deleted.
func (s *store) reset(kvs []*mvccpb.KeyValue, rev int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make(map[string]bool, len(kvs))
	for _, e := range kvs {
		seen[string(e.Key)] = true
		s.set(entry{kv: kvOf(e), rev: e.ModRevision})
	}
	for k, e := range s.keys {
		if !seen[k] && e.rev <= rev && !e.deleted {
			s.keys[k] = entry{kv: kv{key: k}, rev: rev, deleted: true}
		}
	}
	s.loaded = true
}

// apply takes a batch of watch events.
func (s *store) apply(evs []*clientv3.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range evs {
		e := entry{kv: kvOf(ev.Kv), rev: ev.Kv.ModRevision}
		if ev.Type == clientv3.EventTypeDelete {
			e = entry{kv: kv{key: e.key}, rev: e.rev, deleted: true}
		}
		s.set(e)
	}
}

// wrote takes this node's own write of key at rev (value "" and deleted:
// a delete).
func (s *store) wrote(e kv, rev int64, deleted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.set(entry{kv: e, rev: rev, deleted: deleted})
}

// has tells whether key is live under lease in the store.
func (s *store) has(key string, lease int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.keys[key]
	return ok && !e.deleted && e.lease == lease
}

// leased tells, from one state of the store, whether key is live under
// lease, and lists the live keys under prefix of that lease, with the
// prefix cut off.
func (s *store) leased(key, prefix string, lease int64) (bool, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.keys[key]
	if !ok || e.deleted || e.lease != lease {
		return false, nil
	}
	var out []string
	for k, e := range s.keys {
		if rest, ok := strings.CutPrefix(k, prefix); ok && !e.deleted && e.lease == lease {
			out = append(out, rest)
		}
	}
	sort.Strings(out)
	return true, out
}

// get returns key's value if it is live in the store.
func (s *store) get(key string) (kv, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.keys[key]
	if !ok || e.deleted {
		return kv{}, false
	}
	return e.kv, true
}

// view reads the live keys (false until the first full read).
func (s *store) view() (view, bool) {
	s.mu.Lock()
	kvs := make([]kv, 0, len(s.keys))
	for _, e := range s.keys {
		if !e.deleted {
			kvs = append(kvs, e.kv)
		}
	}
	loaded := s.loaded
	s.mu.Unlock()
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].key < kvs[j].key })
	return parseView(s.prefix, kvs), loaded
}

func kvOf(e *mvccpb.KeyValue) kv {
	return kv{key: string(e.Key), value: string(e.Value), lease: e.Lease, created: e.CreateRevision}
}

// kvsOf converts etcd's key-values for parseView.
func kvsOf(in []*mvccpb.KeyValue) []kv {
	out := make([]kv, len(in))
	for i, e := range in {
		out[i] = kvOf(e)
	}
	return out
}
