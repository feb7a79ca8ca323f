package wake

import (
	"context"
	"testing"
)

func woken(w *Waiter[int]) bool {
	select {
	case <-w.C:
		return true
	default:
		return false
	}
}

func TestSetLimits(t *testing.T) {
	for _, tc := range []struct {
		name              string
		max, maxPerClient int
		held              [][]string // clients of the waiters already held
		clients           []string
		want              error
	}{
		{"room", 2, 2, [][]string{{"a"}}, []string{"a"}, nil},
		{"full", 2, 0, [][]string{{"a"}, {"b"}}, []string{"c"}, ErrFull},
		{"client full", 0, 1, [][]string{{"a", "u"}}, []string{"b", "u"}, ErrClientFull},
		{"other client", 0, 1, [][]string{{"a"}}, []string{"b"}, nil},
		{"no limits", -1, -1, [][]string{{"a"}, {"a"}, {"a"}}, []string{"a"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New[int](tc.max, tc.maxPerClient)
			for i, cs := range tc.held {
				if _, err := s.Add(i, cs); err != nil {
					t.Fatalf("held waiter %d: %v", i, err)
				}
			}
			if _, err := s.Add(99, tc.clients); err != tc.want {
				t.Fatalf("Add = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSetWakeAndRemove(t *testing.T) {
	s := New[int](2, 1)
	a, _ := s.Add(1, []string{"x"})
	b, _ := s.Add(2, []string{"y"})
	s.Wake(1)
	if !woken(a) || woken(b) {
		t.Fatalf("Wake(1): a woken %v, b woken %v; want only a", woken(a), woken(b))
	}
	s.Wake(1)
	s.Wake(1) // a second wake-up before a receive neither blocks nor queues
	if !woken(a) || woken(a) {
		t.Fatalf("two Wake(1) before a receive: want exactly one wake-up")
	}
	s.Remove(a)
	if s.Len() != 1 {
		t.Fatalf("Len after Remove = %d, want 1", s.Len())
	}
	if _, err := s.Add(3, []string{"x"}); err != nil {
		t.Fatalf("Add after Remove freed the slot and the client: %v", err)
	}
}

func TestRelay(t *testing.T) {
	s := New[int](0, 0)
	w, _ := s.Add(1, nil)
	msgs := make(chan string)
	got := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Relay(ctx, "ch", msgs, s.WakeAll, func(m string) { got <- m }) }()
	msgs <- "hello" // handed over only after the start's WakeAll
	if !woken(w) {
		t.Fatal("Relay did not wake all when it started")
	}
	if m := <-got; m != "hello" {
		t.Fatalf("each got %q, want hello", m)
	}
	msgs <- ""
	msgs <- "after" // the reconnect was handled before this is taken
	<-got
	if !woken(w) {
		t.Fatal("an empty message (reconnect) did not wake all")
	}
	close(msgs)
	if err := <-done; err == nil {
		t.Fatal("Relay returned nil when its channel closed before ctx ended")
	}
	cancel()
	if err := Relay(ctx, "ch", make(chan string), s.WakeAll, func(string) {}); err != nil {
		t.Fatalf("Relay after ctx ended = %v, want nil", err)
	}
}

// TestRelayBatches: the messages that arrived together wake all once when
// one of them is empty, or always when each is nil, and each still gets
// every other message.
func TestRelayBatches(t *testing.T) {
	for _, tc := range []struct {
		name      string
		msgs      []string
		each      bool
		wantWakes int // wakeAll calls: the start's batch is all of msgs
		wantEach  int
	}{
		{"keyed", []string{"1", "2", "3"}, true, 1, 3},
		{"keyed and a reconnect", []string{"1", "", "2", ""}, true, 1, 2},
		{"no each", []string{"1", "2", "", "3"}, false, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs := make(chan string, len(tc.msgs))
			for _, m := range tc.msgs {
				msgs <- m
			}
			close(msgs)
			wakes, got := 0, 0
			var each func(string)
			if tc.each {
				each = func(string) { got++ }
			}
			if err := Relay(context.Background(), "ch", msgs, func() { wakes++ }, each); err == nil {
				t.Fatal("Relay returned nil when its channel closed before ctx ended")
			}
			if wakes != tc.wantWakes || got != tc.wantEach {
				t.Errorf("%q arriving together: %d wake-alls and %d messages to each, want %d and %d",
					tc.msgs, wakes, got, tc.wantWakes, tc.wantEach)
			}
		})
	}
	// After the start, a batch with no empty message wakes all only when
	// each is nil.
	for _, each := range []bool{true, false} {
		msgs := make(chan string)
		wakes := make(chan struct{}, 10)
		var fn func(string)
		if each {
			fn = func(string) {}
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- Relay(ctx, "ch", msgs, func() { wakes <- struct{}{} }, fn) }()
		<-wakes // the start
		msgs <- "7"
		msgs <- "8" // taken only once "7" was handled
		cancel()
		<-done
		if n := len(wakes); (n > 0) != !each {
			t.Errorf("each set %v: %d wake-alls after two keyed messages", each, n)
		}
	}
}
