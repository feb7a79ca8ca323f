package artifacts

import (
	"context"
	"testing"
	"time"

	"github.com/batonci/baton/internal/store/storetest"
	"github.com/batonci/baton/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// TestHubRelayReconnect breaks the LISTEN connection: messages sent
// meanwhile are lost, so every wait must re-check once the listener is
// back, without waiting for its deadline.
func TestHubRelayReconnect(t *testing.T) {
	db := storetest.OpenPostgres(t)
	h := NewHub(-1, -1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := h.add(key{scopePipeline, 42}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.remove(w)
	done := make(chan error, 1)
	go func() { done <- h.Relay(ctx, db) }()
	// Relay wakes everything when it starts listening; take that one.
	select {
	case <-w.C:
	case <-time.After(30 * time.Second):
		t.Fatalf("not woken when the listener started")
	}
	storetest.KillListeners(t, db)
	select {
	case <-w.C:
	case <-time.After(30 * time.Second):
		t.Fatalf("wait not woken after the listener reconnected")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("relay: %v", err)
	}
}
