package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

// TestScheduleClaims: a due run is claimed by exactly one of many
// concurrent claimers (the compare-and-set on next_run_at), after which
// the schedule is no longer due; inactive schedules never are; the
// per-project bound holds.
func TestScheduleClaims(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		p := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		due := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
		s := &ci.PipelineSchedule{ProjectID: p.ID, OwnerID: u.ID, Ref: "main", Cron: "0 * * * *", CronTimezone: "UTC", Active: true, NextRunAt: &due}
		if err := db.CreatePipelineSchedule(ctx, s, 2); err != nil {
			t.Fatal(err)
		}
		off := &ci.PipelineSchedule{ProjectID: p.ID, OwnerID: u.ID, Ref: "main", Cron: "0 * * * *", CronTimezone: "UTC", Active: false, NextRunAt: &due}
		if err := db.CreatePipelineSchedule(ctx, off, 2); err != nil {
			t.Fatal(err)
		}
		WantKind(t, db.CreatePipelineSchedule(ctx, &ci.PipelineSchedule{ProjectID: p.ID, Ref: "main", Cron: "0 * * * *"}, 2), ci.KindInvalid)

		list, err := db.DuePipelineSchedules(ctx, due, 10)
		if err != nil || len(list) != 1 || list[0].ID != s.ID {
			t.Fatalf("due at %v: %v, %v", due, list, err)
		}
		if list, _ := db.DuePipelineSchedules(ctx, due.Add(-time.Second), 10); len(list) != 0 {
			t.Errorf("due a second early: %d", len(list))
		}
		var wins sync.WaitGroup
		won := make(chan bool, 8)
		for range 8 {
			wins.Add(1)
			go func() {
				defer wins.Done()
				ok, err := db.ClaimPipelineScheduleRun(ctx, s.ID, due, due.Add(time.Hour))
				if err != nil {
					t.Error(err)
				}
				won <- ok
			}()
		}
		wins.Wait()
		close(won)
		n := 0
		for ok := range won {
			if ok {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d of 8 concurrent claims won, want 1", n)
		}
		if list, _ := db.DuePipelineSchedules(ctx, due.Add(time.Minute), 10); len(list) != 0 {
			t.Errorf("still due after the claim: %d", len(list))
		}
		got, err := db.PipelineScheduleByID(ctx, s.ID)
		if err != nil || got.NextRunAt == nil || !got.NextRunAt.Equal(due.Add(time.Hour)) {
			t.Errorf("after the claim: %+v, %v", got, err)
		}
	})
}

// TestHookDeliveryClaims: a hook's deliveries go out one at a time in
// order (a held or retrying one holds back the later ones of its hook,
// not other hooks'), a lease that runs out frees a delivery again, many
// concurrent claimers take every delivery exactly once, and only the
// latest finished deliveries of a hook are kept.
func TestHookDeliveryClaims(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		p := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		hook := func() *ci.ProjectHook {
			h := &ci.ProjectHook{ProjectID: p.ID, URL: "https://example.com/", PushEvents: true}
			if err := db.CreateProjectHook(ctx, h, 100); err != nil {
				t.Fatal(err)
			}
			return h
		}
		h1, h2 := hook(), hook()
		enqueue := func(h *ci.ProjectHook, n int) []*ci.HookDelivery {
			var ds []*ci.HookDelivery
			for i := range n {
				ds = append(ds, &ci.HookDelivery{HookID: h.ID, ProjectID: p.ID, Trigger: ci.HookPush, Event: "Push Hook",
					UUID: fmt.Sprintf("u-%d-%d", h.ID, i), Payload: []byte(fmt.Sprintf(`{"n":%d}`, i))})
			}
			if _, err := db.EnqueueHookDeliveries(ctx, ds, nil); err != nil {
				t.Fatal(err)
			}
			return ds
		}
		d1 := enqueue(h1, 3)
		d2 := enqueue(h2, 2)
		now := time.Now().Add(time.Second)
		claim := func(at time.Time) *ci.HookDelivery {
			t.Helper()
			d, err := db.ClaimHookDelivery(ctx, at, time.Minute)
			if ci.IsNotFound(err) {
				return nil
			}
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		want := func(got *ci.HookDelivery, d *ci.HookDelivery, attempts int) {
			t.Helper()
			if d == nil {
				if got != nil {
					t.Fatalf("claimed delivery %d, want none", got.ID)
				}
				return
			}
			if got == nil || got.ID != d.ID || got.Attempts != attempts || string(got.Payload) != string(d.Payload) {
				t.Fatalf("claimed %+v, want delivery %d attempt %d", got, d.ID, attempts)
			}
		}
		first := claim(now)
		want(first, d1[0], 1)
		want(claim(now), d2[0], 1) // h1's next waits for its first
		want(claim(now), nil, 0)
		// h1's first is delivered: its second comes; h2's first will retry later.
		first.Status, first.FinishedAt, first.ResponseStatus = ci.DeliveryDelivered, &now, 200
		if err := db.FinishHookAttempt(ctx, first, 100); err != nil {
			t.Fatal(err)
		}
		retry := &ci.HookDelivery{ID: d2[0].ID, HookID: h2.ID, Status: ci.DeliveryPending, NextAttemptAt: now.Add(time.Hour), ResponseStatus: 500}
		if err := db.FinishHookAttempt(ctx, retry, 100); err != nil {
			t.Fatal(err)
		}
		want(claim(now), d1[1], 1)
		want(claim(now), nil, 0)                      // h1's second is held, h2's first not due
		want(claim(now.Add(2*time.Minute)), d1[1], 2) // the lease ran out
		want(claim(now.Add(2*time.Hour)), d1[1], 3)   // its lease ran out again: the oldest first
		want(claim(now.Add(2*time.Hour)), d2[0], 2)   // due again
		want(claim(now.Add(2*time.Hour)), nil, 0)     // both hooks hold one

		// Many claimers: every delivery of many hooks exactly once.
		var all []*ci.HookDelivery
		for range 20 {
			all = append(all, enqueue(hook(), 1)...)
		}
		later := now.Add(24 * time.Hour)
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					d, err := db.ClaimHookDelivery(ctx, later, time.Hour)
					if ci.IsNotFound(err) {
						return
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					seen[d.ID]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		for _, d := range all {
			if seen[d.ID] != 1 {
				t.Errorf("delivery %d claimed %d times, want once", d.ID, seen[d.ID])
			}
		}

		// Only the latest finished deliveries are kept.
		h3 := hook()
		ds := enqueue(h3, 4)
		for _, d := range ds {
			d.Status, d.FinishedAt = ci.DeliveryFailed, &now
			if err := db.FinishHookAttempt(ctx, d, 2); err != nil {
				t.Fatal(err)
			}
		}
		kept, total, err := db.ListHookDeliveries(ctx, h3.ID, ci.Page{Page: 1, PerPage: 10})
		if err != nil || total != 2 || len(kept) != 2 || kept[0].ID != ds[3].ID || kept[1].ID != ds[2].ID {
			t.Errorf("kept %d of %d (%v), want the latest 2", len(kept), total, err)
		}

		// An event about a pipeline or job whose status moved on is stale:
		// nothing is queued.
		pl, jobs := MustPipeline(t, db, p.ID, "main", map[string][]string{"j": nil})
		for _, c := range []struct {
			subject ci.EventSubject
			queued  bool
		}{
			{ci.EventSubject{ID: pl.ID, Status: ci.StatusRunning}, false},
			{ci.EventSubject{ID: pl.ID, Status: ci.StatusPending}, true},
			{ci.EventSubject{Job: true, ID: jobs[0].ID, Status: ci.StatusSuccess}, false},
			{ci.EventSubject{Job: true, ID: jobs[0].ID, Status: ci.StatusPending}, true},
		} {
			d := &ci.HookDelivery{HookID: h3.ID, ProjectID: p.ID, Trigger: ci.HookPipeline, Event: "Pipeline Hook", UUID: "s", Payload: []byte(`{}`)}
			queued, err := db.EnqueueHookDeliveries(ctx, []*ci.HookDelivery{d}, &c.subject)
			if err != nil || queued != c.queued || (d.ID != 0) != c.queued {
				t.Errorf("subject %+v: queued %v (id %d), %v; want %v", c.subject, queued, d.ID, err, c.queued)
			}
		}
	})
}
