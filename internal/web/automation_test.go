package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/schedule"
	"github.com/batonci/baton/internal/store/storetest"
)

// userCounter is the real store, counting the reads of users.
type userCounter struct {
	Store
	reads int
}

func (s *userCounter) UserByID(ctx context.Context, id int64) (*ci.User, error) {
	s.reads++
	return s.Store.UserByID(ctx, id)
}

// TestSchedulesPageOwnerLookups: the schedules page reads each owner once,
// however many schedules they own.
func TestSchedulesPageOwnerLookups(t *testing.T) {
	var counter *userCounter
	f := newFixtureOn(t, storetest.OpenSQLite(t), 1, func(d *Deps) { counter = &userCounter{Store: d.Store}; d.Store = counter })
	ctx := context.Background()
	reads := func() int {
		counter.reads = 0
		w := f.get("/root/app/-/pipeline_schedules", f.cookie)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "<td>root</td>") {
			t.Fatalf("schedules page: %d, no owner shown", w.Code)
		}
		return counter.reads
	}
	add := func(desc string) {
		sc := &ci.PipelineSchedule{ProjectID: f.project.ID, OwnerID: f.project.CreatorID, Description: desc, Ref: "main",
			Cron: "0 3 * * *", CronTimezone: "UTC", Active: true}
		if err := schedule.Prepare(sc, time.Minute, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := f.db.CreatePipelineSchedule(ctx, sc, 50); err != nil {
			t.Fatal(err)
		}
	}
	add("one")
	one := reads()
	add("two")
	add("three")
	if three := reads(); three != one {
		t.Errorf("the page read users %d times with 3 schedules of one owner, %d with 1", three, one)
	}
}
