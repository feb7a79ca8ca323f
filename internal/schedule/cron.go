// Package schedule runs pipeline schedules: it parses their cron
// expressions (five fields in GitLab's syntax, with a time zone) and owns
// the background loop that creates a pipeline for each schedule that comes
// due, exactly once across replicas.
package schedule

import (
	"strings"
	"time"
	_ "time/tzdata" // IANA zones even on hosts without /usr/share/zoneinfo

	"github.com/robfig/cron/v3"

	"github.com/batonci/baton/internal/ci"
)

// Cron is a parsed cron expression in its time zone.
type Cron struct {
	spec cron.Schedule
	loc  *time.Location
}

// parser takes GitLab's (fugit's) five fields: minute, hour, day of month,
// month, day of week, with ranges (1-5), steps (*/15, 0-30/10), lists
// (1,15), names (JAN, MON-FRI) and the @hourly, @daily, @weekly, @monthly,
// @yearly shorthands.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Parse parses expr in the IANA time zone tz ("" is UTC). An invalid
// expression or an unknown zone is KindInvalid with GitLab's messages.
func Parse(expr, tz string) (*Cron, error) {
	loc, err := Location(tz)
	if err != nil {
		return nil, err
	}
	e := strings.TrimSpace(expr)
	// A zone inside the expression would bypass cron_timezone's check.
	if e == "" || strings.Contains(e, "TZ=") || strings.HasPrefix(e, "@every") {
		return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - cron is invalid: %q", expr)
	}
	spec, err := parser.Parse(e)
	if err != nil {
		return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - cron is invalid: %q", expr)
	}
	return &Cron{spec: spec, loc: loc}, nil
}

// Location loads an IANA time zone; "" is UTC. "Local" and unknown names
// are KindInvalid: a schedule must not depend on the server's zone.
func Location(tz string) (*time.Location, error) {
	if tz == "" {
		return time.UTC, nil
	}
	if tz == "Local" || strings.ContainsAny(tz, " \\") || strings.Contains(tz, "..") {
		return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - cron_timezone is invalid: %q", tz)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - cron_timezone is invalid: %q", tz)
	}
	return loc, nil
}

// Next is the first time after t the expression names, in UTC.
func (c *Cron) Next(t time.Time) time.Time {
	return c.spec.Next(t.In(c.loc)).UTC()
}

// horizon is how many consecutive runs MinGap looks at: a day of runs at
// one a minute, and every irregular pattern of five fields repeats within
// far fewer runs than a year of daily ones.
const horizon = 1500

// MinGap is the shortest time between two consecutive runs after t,
// among the next horizon runs (or until the runs stop).
func (c *Cron) MinGap(t time.Time) time.Duration {
	prev := c.Next(t)
	if prev.IsZero() {
		return 0
	}
	gap := time.Duration(1<<63 - 1)
	for range horizon {
		next := c.Next(prev)
		if next.IsZero() {
			break
		}
		gap = min(gap, next.Sub(prev))
		prev = next
	}
	return gap
}

// Prepare checks s's cron expression, time zone and ref, and sets its
// NextRunAt from now (nil while inactive). A schedule that would run more
// often than minInterval, or a description or ref over 255 bytes, is
// KindInvalid. An active schedule's inactive reason is cleared.
func Prepare(s *ci.PipelineSchedule, minInterval time.Duration, now time.Time) error {
	if s.CronTimezone == "" {
		s.CronTimezone = "UTC"
	}
	c, err := Parse(s.Cron, s.CronTimezone)
	if err != nil {
		return err
	}
	if strings.TrimSpace(s.Ref) == "" || len(s.Ref) > 255 || strings.ContainsAny(s.Ref, "\x00\n\r") {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - ref is invalid")
	}
	if len(s.Description) > 255 {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - description is too long (maximum is 255 characters)")
	}
	if gap := c.MinGap(now); gap > 0 && gap < minInterval {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - cron runs every %s; schedules may run at most every %s", gap, minInterval)
	}
	s.NextRunAt = nil
	if s.Active {
		next := c.Next(now)
		if next.IsZero() {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - cron never runs: %q", s.Cron)
		}
		s.NextRunAt, s.InactiveReason = &next, ""
	}
	return nil
}
