package store

import (
	"context"
	"fmt"
	"testing"
)

// A listener that reads too slowly loses messages to its buffer, but never
// unseen: what overflows leaves an empty payload (re-check everything).
func TestLocalNotifierOverflowAsksForRecheck(t *testing.T) {
	for _, sent := range []int{1, 16, 17, 100} {
		t.Run(fmt.Sprint(sent), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			n := newLocalNotifier()
			c, err := n.Listen(ctx, "ch")
			if err != nil {
				t.Fatal(err)
			}
			if first := <-c; first != "" {
				t.Fatalf("first payload %q, want the connect re-check", first)
			}
			for i := range sent {
				if err := n.Notify(ctx, "ch", fmt.Sprint("m", i)); err != nil {
					t.Fatal(err)
				}
			}
			got, recheck := 0, false
			for len(c) > 0 {
				if p := <-c; p == "" {
					recheck = true
				} else {
					got++
				}
			}
			if got < sent && !recheck {
				t.Errorf("%d of %d payloads delivered and no re-check: the rest were lost unseen", got, sent)
			}
			if got == sent && recheck {
				t.Errorf("a re-check although nothing was lost")
			}
		})
	}
}
