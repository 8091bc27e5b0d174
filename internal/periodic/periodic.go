// Package periodic runs a function at a fixed interval in the background,
// for progress lines during long waits.
package periodic

import "time"

// Every calls fn each interval, from one goroutine, until stop is called;
// stop returns once fn will not be called again.
func Every(interval time.Duration, fn func()) (stop func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fn()
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}
