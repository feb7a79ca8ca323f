package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

// TestQueueVersion checks that the job queue's version moves exactly when a
// runner may now get a job it could not get before, and that listeners of
// store.QueueChannel hear of it (from the database on PostgreSQL, so every
// replica does; from the store on SQLite).
func TestQueueVersion(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		msgs, err := db.Listen(ctx, store.QueueChannel)
		must(t, err)
		if m := <-msgs; m != "" {
			t.Fatalf("first message %q, want the empty (re)connected one", m)
		}
		version := func() int64 {
			t.Helper()
			v, err := db.QueueVersion(ctx)
			must(t, err)
			return v
		}
		heard := func() bool {
			select {
			case <-msgs:
				return true
			case <-time.After(10 * time.Second):
				return false
			}
		}
		g := MustGroup(t, db, 0, ci.VisibilityPrivate)
		proj := MustProject(t, db, g.ID, ci.VisibilityPrivate)
		r := &ci.Runner{RunnerType: ci.RunnerInstance, RunUntagged: true, TokenHash: "r"}
		must(t, db.CreateRunner(ctx, r))

		steps := []struct {
			name  string
			do    func()
			moves bool
		}{
			{"a pipeline with a pending job", func() { MustPipeline(t, db, proj.ID, "main", map[string][]string{"a": nil}) }, true},
			{"a runner's contact", func() { must(t, db.TouchRunner(ctx, r)) }, false},
			{"a job assigned", func() {
				_, err := db.AssignNextJob(ctx, r, "tok", time.Now())
				must(t, err)
			}, false},
			{"a pipeline with only created jobs", func() {
				must(t, db.CreatePipeline(ctx, &ci.Pipeline{ProjectID: proj.ID, Ref: "main", SHA: "c", Source: ci.SourcePush},
					[]*ci.Job{{Name: "later", Status: ci.StatusCreated}}))
			}, false},
			{"a created job becoming pending", func() {
				js, _, err := db.ListJobs(ctx, ci.JobFilter{ProjectID: proj.ID, Statuses: []ci.Status{ci.StatusCreated}, Page: ci.Page{Page: 1}})
				must(t, err)
				j := js[0]
				j.Status = ci.StatusPending
				must(t, db.UpdateJob(ctx, j, ci.StatusCreated))
			}, true},
			{"a runner's tags", func() { r.Tags = []string{"gpu"}; must(t, db.UpdateRunner(ctx, r)) }, true},
			{"a runner paused", func() { r.Paused = true; must(t, db.UpdateRunner(ctx, r)) }, true},
		}
		for _, s := range steps {
			before := version()
			s.do()
			after := version()
			if moved := after != before; moved != s.moves {
				t.Fatalf("%s: version %d → %d, want moved=%v", s.name, before, after, s.moves)
			}
			if s.moves && !heard() {
				t.Fatalf("%s: no message on %s", s.name, store.QueueChannel)
			}
		}
	})
}

// TestListenReconnects breaks PostgreSQL's LISTEN connection: the listener
// reconnects by itself, says so with an empty message (whatever was sent
// meanwhile is lost, so listeners re-check), and hears later messages.
func TestListenReconnects(t *testing.T) {
	db := OpenPostgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs, err := db.Listen(ctx, store.QueueChannel)
	must(t, err)
	if m := <-msgs; m != "" {
		t.Fatalf("first message %q, want the empty (re)connected one", m)
	}
	for round := range 2 {
		KillListeners(t, db)
		select {
		case m, ok := <-msgs:
			if !ok || m != "" {
				t.Fatalf("round %d: after the connection broke got %q (open %v), want the empty reconnected message", round, m, ok)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: the listener did not reconnect", round)
		}
		must(t, db.Notify(ctx, store.QueueChannel, "after"))
		select {
		case m := <-msgs:
			if m != "after" {
				t.Fatalf("round %d: got %q, want the message sent after reconnecting", round, m)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: nothing heard after reconnecting", round)
		}
	}
}

// TestListenersShareOneConnection: a process's listeners on several
// channels hold one PostgreSQL connection between them (not one each);
// each hears its own channel only, one leaving does not disturb the
// others, and after the connection breaks every one of them is told to
// re-check and hears later messages. A message sent while the connection
// is being made again is lost by design (the re-check covers it), so
// messages are sent until heard.
func TestListenersShareOneConnection(t *testing.T) {
	db := OpenPostgres(t)
	ctx := context.Background()
	channels := []string{"one", "two", "three", "four", "five"}
	msgs := map[string]<-chan string{}
	cancels := map[string]context.CancelFunc{}
	for _, c := range channels {
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		m, err := db.Listen(lctx, c)
		must(t, err)
		msgs[c], cancels[c] = m, cancel
	}
	// hear sends payload on c until c's listener hears it, and reports
	// whether it was told to re-check on the way; it fails on anything
	// else heard.
	hear := func(c, payload string) (rechecked bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			must(t, db.Notify(ctx, c, payload))
			wait := time.After(500 * time.Millisecond)
			for {
				select {
				case m, ok := <-msgs[c]:
					switch {
					case !ok:
						t.Fatalf("%s: closed", c)
					case m == "":
						rechecked = true
						continue
					case m != payload:
						t.Fatalf("%s heard %q, want %q", c, m, payload)
					}
					return rechecked
				case <-wait:
				}
				break
			}
		}
		t.Fatalf("%s: %q never heard", c, payload)
		return false
	}
	for _, c := range channels {
		hear(c, "to-"+c)
	}
	var listening int
	must(t, db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %'`).Scan(&listening))
	if listening != 1 {
		t.Errorf("%d connections listen for %d channels, want 1", listening, len(channels))
	}

	// listener is the pid of the one listening connection, once there is
	// exactly one other than not.
	listener := func(not int64) int64 {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			var pids []int64
			rows, err := db.SQL().QueryContext(ctx, `SELECT pid FROM pg_stat_activity
				WHERE datname = current_database() AND query LIKE 'LISTEN %'`)
			must(t, err)
			for rows.Next() {
				var pid int64
				must(t, rows.Scan(&pid))
				pids = append(pids, pid)
			}
			rows.Close()
			if len(pids) == 1 && pids[0] != not {
				return pids[0]
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no single new listening connection")
		return 0
	}
	before := listener(0)
	cancels["three"]()
	for range msgs["three"] {
	}
	listener(before) // the connection was made again without "three"
	hear("four", "still")
	// Every re-check so far is read: the next ones come from the break.
	for _, c := range []string{"one", "two", "five"} {
		hear(c, "marker-"+c)
	}

	KillListeners(t, db)
	for _, c := range []string{"one", "two", "four", "five"} {
		if !hear(c, "after-"+c) {
			t.Errorf("%s was not told to re-check after the connection broke", c)
		}
	}
}
