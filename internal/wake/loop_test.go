package wake

import (
	"context"
	"testing"
	"time"
)

// TestLoop: a step runs at once, again when its timer fires, again when
// woken while it has no timer, once more when wake closes (as a last
// wake-up), then never without a timer, and Loop returns nil when ctx
// ends, even from a step without a timer.
func TestLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wake := make(chan string, 1)
	ran := make(chan int, 10)
	n := 0
	done := make(chan error, 1)
	go func() {
		done <- Loop(ctx, wake, func(context.Context) time.Duration {
			n++
			ran <- n
			if n == 1 {
				return time.Millisecond // the timer brings step 2
			}
			return -1 // then only wake does
		})
	}()
	next := func(want int) {
		t.Helper()
		select {
		case got := <-ran:
			if got != want {
				t.Fatalf("step %d ran, want %d", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("step %d never ran", want)
		}
	}
	next(1)
	next(2)
	wake <- "x"
	next(3)
	close(wake)
	next(4)
	select {
	case got := <-ran:
		t.Fatalf("step %d ran with no timer and a closed wake channel", got)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Loop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Loop did not return when ctx ended")
	}
}
