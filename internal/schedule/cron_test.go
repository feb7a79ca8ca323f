package schedule

import (
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
)

func TestParseAndNext(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		name, expr, tz, after, want string
	}{
		{"every minute", "* * * * *", "", "2026-03-04T10:20:30Z", "2026-03-04T10:21:00Z"},
		{"step", "*/15 * * * *", "UTC", "2026-03-04T10:20:00Z", "2026-03-04T10:30:00Z"},
		{"range with step", "0-30/10 9 * * *", "UTC", "2026-03-04T09:25:00Z", "2026-03-04T09:30:00Z"},
		{"list", "5,45 * * * *", "UTC", "2026-03-04T10:06:00Z", "2026-03-04T10:45:00Z"},
		{"weekday names", "0 3 * * MON-FRI", "UTC", "2026-03-06T04:00:00Z", "2026-03-09T03:00:00Z"}, // Friday → Monday
		{"month names", "0 0 1 JAN,JUL *", "UTC", "2026-03-04T00:00:00Z", "2026-07-01T00:00:00Z"},
		{"shorthand", "@daily", "UTC", "2026-03-04T10:00:00Z", "2026-03-05T00:00:00Z"},
		{"zone", "0 3 * * *", "Europe/Berlin", "2026-01-10T12:00:00Z", "2026-01-11T02:00:00Z"},           // CET, UTC+1
		{"zone in summer", "0 3 * * *", "Europe/Berlin", "2026-07-10T12:00:00Z", "2026-07-11T01:00:00Z"}, // CEST, UTC+2
		{"zone across DST", "30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-09T06:30:00Z"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cr, err := Parse(c.expr, c.tz)
			if err != nil {
				t.Fatal(err)
			}
			if got := cr.Next(at(c.after)); !got.Equal(at(c.want)) {
				t.Errorf("Next(%s) = %s, want %s", c.after, got, c.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	for _, c := range []struct{ expr, tz string }{
		{"", ""}, {"* * * *", ""}, {"* * * * * *", ""}, {"60 * * * *", ""}, {"* 24 * * *", ""}, {"* * 32 * *", ""},
		{"* * * 13 *", ""}, {"* * * * 8", ""}, {"@every 1s", ""}, {"CRON_TZ=UTC * * * * *", ""}, {"TZ=UTC * * * * *", ""},
		{"* * * * *", "Mars/Olympus"}, {"* * * * *", "Local"}, {"* * * * *", "../../etc/passwd"},
	} {
		if _, err := Parse(c.expr, c.tz); ci.KindOf(err) != ci.KindInvalid {
			t.Errorf("Parse(%q, %q) = %v, want KindInvalid", c.expr, c.tz, err)
		}
	}
}

func TestPrepareMinimumInterval(t *testing.T) {
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		cron string
		ok   bool
	}{
		{"0 * * * *", true}, {"*/30 * * * *", false}, {"0,1 3 * * *", false}, {"0 3 * * *", true}, {"* * * * *", false},
	} {
		s := &ci.PipelineSchedule{Ref: "main", Cron: c.cron, Active: true}
		err := Prepare(s, time.Hour, now)
		if (err == nil) != c.ok {
			t.Errorf("Prepare(%q, 1h) = %v, want ok %v", c.cron, err, c.ok)
		}
		if err == nil && (s.NextRunAt == nil || !s.NextRunAt.After(now)) {
			t.Errorf("Prepare(%q): next run %v", c.cron, s.NextRunAt)
		}
	}
	inactive := &ci.PipelineSchedule{Ref: "main", Cron: "0 3 * * *", Active: false, InactiveReason: "x"}
	if err := Prepare(inactive, time.Minute, now); err != nil || inactive.NextRunAt != nil {
		t.Errorf("inactive: %v, next %v", err, inactive.NextRunAt)
	}
}
