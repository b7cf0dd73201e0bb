package daemon

import "sync"

// busyGauge counts the group operations in flight (runOp, reannounce;
// with the etcd backend, etcdRunner's starts and stops) and tells set when the first one begins (true) and when the last one
// has ended (false): main raises GOMAXPROCS meanwhile (Options.Busy).
// The operations' goroutines end off the loop, hence the mutex; set is
// called under it, so its calls never cross.
type busyGauge struct {
	set func(busy bool) // nil: nobody wants to know

	mu sync.Mutex
	n  int
}

// begin counts an operation that is about to start.
func (b *busyGauge) begin() {
	if b.set == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	if b.n == 1 {
		b.set(true)
	}
}

// end counts an operation that has ended; every begin has one end.
func (b *busyGauge) end() {
	if b.set == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n--
	if b.n == 0 {
		b.set(false)
	}
}
