package hooks

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store/storetest"
)

// TestDeliveryToLocalNameRefused: a hook whose URL names a host that
// resolves to a loopback address (saved while local hooks were allowed,
// or DNS that changed since) is refused when the deliverer dials it: the
// receiver gets nothing, the delivery records why and is retried, then
// fails. Allowed, the same delivery arrives with GitLab's headers.
func TestDeliveryToLocalNameRefused(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	u := storetest.MustUser(t, db)
	ns, err := db.NamespaceOfUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	p := storetest.MustProject(t, db, ns.ID, ci.VisibilityPrivate)
	var hits atomic.Int64
	var token, event atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		token.Store(r.Header.Get("X-Gitlab-Token"))
		event.Store(r.Header.Get("X-Gitlab-Event"))
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	h := &ci.ProjectHook{ProjectID: p.ID, URL: "http://localhost:" + port + "/hook", Token: "tok", PushEvents: true}
	if err := db.CreateProjectHook(ctx, h, 10); err != nil {
		t.Fatal(err)
	}
	d := &ci.HookDelivery{HookID: h.ID, ProjectID: p.ID, Trigger: ci.HookPush, Event: "Push Hook", UUID: newUUID(), Payload: []byte(`{}`)}
	if _, err := db.EnqueueHookDeliveries(ctx, []*ci.HookDelivery{d}, nil); err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	now := func() time.Time { return clock }
	refusing := NewDeliverer(db, Options{MaxAttempts: 2, Backoff: time.Minute, Now: now})
	if n := refusing.Drain(ctx); n != 1 {
		t.Fatalf("first drain made %d attempts, want 1", n)
	}
	ds, _, err := db.ListHookDeliveries(ctx, h.ID, ci.Page{Page: 1, PerPage: 10})
	if err != nil || len(ds) != 1 || ds[0].Status != ci.DeliveryPending || !strings.Contains(ds[0].Error, "local network") {
		t.Fatalf("after a refused attempt: %+v, %v", ds, err)
	}
	clock = clock.Add(2 * time.Minute) // past the back-off
	refusing.Drain(ctx)
	ds, _, _ = db.ListHookDeliveries(ctx, h.ID, ci.Page{Page: 1, PerPage: 10})
	if ds[0].Status != ci.DeliveryFailed || ds[0].Attempts != 2 {
		t.Errorf("after the last attempt: %+v", ds[0])
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the local receiver got %d requests", n)
	}

	d2 := &ci.HookDelivery{HookID: h.ID, ProjectID: p.ID, Trigger: ci.HookPush, Event: "Push Hook", UUID: newUUID(), Payload: []byte(`{}`)}
	if _, err := db.EnqueueHookDeliveries(ctx, []*ci.HookDelivery{d2}, nil); err != nil {
		t.Fatal(err)
	}
	NewDeliverer(db, Options{AllowLocal: true, Now: now}).Drain(ctx)
	if hits.Load() != 1 || token.Load() != "tok" || event.Load() != "Push Hook" {
		t.Errorf("allowed: %d requests, token %v, event %v", hits.Load(), token.Load(), event.Load())
	}
}

// A receiver that answers slowly holds one of the deliverer's workers, not
// every other hook's events: while it holds its request, another
// project's hook gets its event.
func TestSlowReceiverDelaysOnlyItself(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	u := storetest.MustUser(t, db)
	ns, err := db.NamespaceOfUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	slowHeld := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowHeld <- struct{}{}
		<-release
	}))
	defer slow.Close()
	defer close(release) // before slow.Close waits for its handler
	fastHit := make(chan struct{}, 1)
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fastHit <- struct{}{} }))
	defer fast.Close()

	queue := func(url string) {
		t.Helper()
		p := storetest.MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		h := &ci.ProjectHook{ProjectID: p.ID, URL: url, PushEvents: true}
		if err := db.CreateProjectHook(ctx, h, 10); err != nil {
			t.Fatal(err)
		}
		d := &ci.HookDelivery{HookID: h.ID, ProjectID: p.ID, Trigger: ci.HookPush, Event: "Push Hook", UUID: newUUID(), Payload: []byte(`{}`)}
		if _, err := db.EnqueueHookDeliveries(ctx, []*ci.HookDelivery{d}, nil); err != nil {
			t.Fatal(err)
		}
	}
	queue(slow.URL) // the older delivery: claimed first
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- NewDeliverer(db, Options{AllowLocal: true, Timeout: time.Hour, Interval: time.Hour, Workers: 2}).Run(runCtx)
	}()
	defer func() {
		stop()
		release <- struct{}{}
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	}()
	<-slowHeld
	queue(fast.URL)
	if err := db.Notify(ctx, channel, ""); err != nil {
		t.Fatal(err)
	}
	select {
	case <-fastHit:
	case <-time.After(30 * time.Second): // a hang guard, not a measurement
		t.Fatal("the other hook got nothing while a slow receiver held its request")
	}
}
