package artifacts

import (
	"errors"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

// TestHubLimits: waits beyond the global or a per-client limit are
// refused with KindTooMany and a Retry-After; removed waits free their
// slots; Notify wakes exactly the waits of its pipeline and project.
func TestHubLimits(t *testing.T) {
	h := NewHub(3, 2)
	add := func(k key, clients ...string) (*waiter, error) { return h.add(k, clients) }
	a, err := add(key{scopePipeline, 1}, "ip:a")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := add(key{scopeProject, 7}, "ip:a", "user:1")
	if _, err := add(key{scopePipeline, 1}, "ip:a"); ci.KindOf(err) != ci.KindTooMany {
		t.Fatalf("third wait of ip:a: %v, want too many", err)
	}
	c, err := add(key{scopePipeline, 2}, "ip:b")
	if err != nil {
		t.Fatal(err)
	}
	var le *LimitError
	if _, err := add(key{scopePipeline, 2}, "ip:c"); !errors.As(err, &le) || le.RetryAfter() <= 0 {
		t.Fatalf("fourth wait overall: %v, want a LimitError with Retry-After", err)
	}
	h.Notify(7, 1)
	for _, w := range []*waiter{a, b} {
		select {
		case <-w.C:
		default:
			t.Fatalf("wait on %v not woken", w.Key())
		}
	}
	select {
	case <-c.C:
		t.Fatalf("wait of pipeline 2 woken by pipeline 1")
	default:
	}
	h.remove(a)
	if _, err := add(key{scopePipeline, 1}, "ip:a"); err != nil {
		t.Fatalf("after a wait ended: %v", err)
	}
	if h.Len() != 3 {
		t.Fatalf("Len %d, want 3", h.Len())
	}
}
