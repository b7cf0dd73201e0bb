package etcdown

import (
	"errors"
	"sync"
)

// maxParallel bounds how many groups a node claims, starts or stops at
// once: a node that inherits a dead peer's hundred groups takes them in
// parallel, each group's own resources still in order (the Runner's
// start runs them left to right), without a hundred scripts and etcd
// writes at the same instant.
const maxParallel = 16

// each calls f for every group of gs, at most limit at a time (limit <
// 1: all at once), and returns once every call has returned, with their
// errors joined.
func each(gs []string, limit int, f func(g string) error) error {
	if limit < 1 || limit > len(gs) {
		limit = len(gs)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	slots := make(chan struct{}, limit)
	for _, g := range gs {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := f(g); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
