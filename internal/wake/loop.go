package wake

import (
	"context"
	"time"
)

// Loop is the one shape of the background loops: it runs step, then waits
// for the duration step returned (negative: no timer, only wake), for a
// message on wake (its closing wakes once, then it is ignored; nil: none), or
// for ctx to end, and runs step again, until ctx ends; then it returns
// nil. A loop that sweeps every interval returns the interval; one that
// sleeps until the next due time returns the time left until it.
func Loop[T any](ctx context.Context, wake <-chan T, step func(ctx context.Context) time.Duration) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for ctx.Err() == nil {
		var fire <-chan time.Time
		if d := step(ctx); d >= 0 {
			timer.Reset(d)
			fire = timer.C
		}
		select {
		case <-ctx.Done():
		case <-fire:
		case _, ok := <-wake:
			timer.Stop()
			if !ok {
				wake = nil
			}
		}
	}
	return nil
}
