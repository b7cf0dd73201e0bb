package etcdown

import (
	"context"
	"strings"
	"sync"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
)

// rpcHook takes over a client's first n Puts (or, with del, Deletes) of
// keys under prefix: each goes to f, which sends it by calling send, or
// does not (a request lost on its way to etcd).
type rpcHook struct {
	del    bool
	prefix string
	n      int
	f      func(ctx context.Context, send func() error) error

	mu   sync.Mutex
	hits int
}

// take tells whether the request for key is one of the first n.
func (h *rpcHook) take(key string) bool {
	if !strings.HasPrefix(key, h.prefix) {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hits >= h.n {
		return false
	}
	h.hits++
	return true
}

// count is how many requests went to f.
func (h *rpcHook) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits
}

// keyOf is the key of a Put or Delete request of the kind h takes.
func (h *rpcHook) keyOf(req any) (string, bool) {
	switch r := req.(type) {
	case *etcdserverpb.PutRequest:
		return string(r.Key), !h.del
	case *etcdserverpb.DeleteRangeRequest:
		return string(r.Key), h.del
	}
	return "", false
}

func (h *rpcHook) dialOption() grpc.DialOption {
	return grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		send := func() error { return invoker(ctx, method, req, reply, cc, opts...) }
		if key, ok := h.keyOf(req); ok && h.take(key) {
			return h.f(ctx, send)
		}
		return send()
	})
}

// lost holds a request unsent until its context ends: its call times
// out.
func lost(ctx context.Context, _ func() error) error {
	<-ctx.Done()
	return ctx.Err()
}
