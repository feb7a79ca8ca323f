package main

import (
	"context"
	"time"

	"github.com/batonci/baton/internal/api"
	"github.com/batonci/baton/internal/gitserve"
	"github.com/batonci/baton/internal/hooks"
	"github.com/batonci/baton/internal/schedule"
	"github.com/batonci/baton/internal/web"
)

// Automation is the configuration of pipeline schedules and webhooks.
type Automation struct {
	MaxPipelineSchedules int64         // per project
	MinScheduleInterval  time.Duration // shortest time between two runs of one schedule
	MaxWebhooks          int64         // per project
	AllowLocalWebhooks   bool          // hooks may reach loopback, private and link-local addresses
	WebhookTimeout       time.Duration // one delivery attempt
	WebhookAttempts      int64         // attempts before a delivery fails
	WebhookBackoff       time.Duration // wait before the first retry, doubling
	WebhookResponseBytes int64         // response body excerpt kept per delivery
	WebhookWorkers       int64         // deliveries one replica sends at once

	// ScheduleTick is how often the schedule loop looks for due schedules
	// (default 10 s); WebhookPoll how often deliverers look for due
	// retries without being woken (default 5 s). Tests shorten them;
	// they have no flags. Now, if set, is the schedule loop's clock.
	ScheduleTick time.Duration
	WebhookPoll  time.Duration
	Now          func() time.Time
}

func (c *Config) bindAutomation(b flagBinder) {
	a := &c.Automation
	b.integer(&a.MaxPipelineSchedules, "max-pipeline-schedules", "BATON_MAX_PIPELINE_SCHEDULES", 50, "most pipeline schedules one project may have")
	b.duration(&a.MinScheduleInterval, "min-schedule-interval", "BATON_MIN_SCHEDULE_INTERVAL", time.Minute, "shortest time between two runs of one pipeline schedule")
	b.integer(&a.MaxWebhooks, "max-webhooks", "BATON_MAX_WEBHOOKS", 20, "most webhooks one project may have")
	b.boolean(&a.AllowLocalWebhooks, "allow-local-webhooks", "BATON_ALLOW_LOCAL_WEBHOOKS", false, "let webhooks reach loopback, private, link-local and other local addresses")
	b.duration(&a.WebhookTimeout, "webhook-timeout", "BATON_WEBHOOK_TIMEOUT", 10*time.Second, "time one webhook delivery attempt may take")
	b.integer(&a.WebhookAttempts, "webhook-attempts", "BATON_WEBHOOK_ATTEMPTS", 5, "attempts before a webhook delivery fails")
	b.duration(&a.WebhookBackoff, "webhook-backoff", "BATON_WEBHOOK_BACKOFF", 10*time.Second, "wait before a webhook delivery's first retry (doubling after each)")
	b.integer(&a.WebhookResponseBytes, "webhook-response-bytes", "BATON_WEBHOOK_RESPONSE_BYTES", 4<<10, "bytes of a webhook response body kept for its recent deliveries")
	b.integer(&a.WebhookWorkers, "webhook-workers", "BATON_WEBHOOK_WORKERS", hooks.DefaultWorkers, "webhook deliveries one replica sends at once (a slow receiver holds one)")
}

// apiAutomation is the API's view of the bounds.
func (m *Main) apiAutomation() api.Automation {
	a := m.Config.Automation
	return api.Automation{MaxSchedules: int(a.MaxPipelineSchedules), MinScheduleInterval: a.MinScheduleInterval,
		MaxVariables: int(m.Config.MaxVariables), MaxVariableBytes: m.Config.MaxVariableBytes,
		MaxHooks: int(a.MaxWebhooks), AllowLocalHooks: a.AllowLocalWebhooks}
}

// scheduleRunner is the loop firing due schedules through the planner.
func (m *Main) scheduleRunner() *schedule.Runner {
	return schedule.NewRunner(m.Store, m.Policy, m.Planner.Create,
		schedule.Options{Interval: m.Config.ScheduleTick, Now: m.Config.Now, Logger: m.Logger})
}

// deliverer is the loop sending queued webhook deliveries.
func (m *Main) deliverer() *hooks.Deliverer {
	a := m.Config.Automation
	return hooks.NewDeliverer(m.Store, hooks.Options{AllowLocal: a.AllowLocalWebhooks, Timeout: a.WebhookTimeout,
		MaxAttempts: int(a.WebhookAttempts), Backoff: a.WebhookBackoff, MaxResponse: a.WebhookResponseBytes, Workers: int(a.WebhookWorkers),
		Interval: a.WebhookPoll, Instance: m.Config.ExternalURL, UserAgent: "Baton/" + version, Logger: m.Logger})
}

// hookRepo adapts gitserve.Repos to what push payloads read.
type hookRepo struct{ repos *gitserve.Repos }

func (h hookRepo) Log(ctx context.Context, projectID int64, oldSHA, newSHA string, limit int) ([]hooks.Commit, int, error) {
	cs, total, err := h.repos.PushLog(ctx, projectID, oldSHA, newSHA, limit)
	if err != nil {
		return nil, 0, err
	}
	out := make([]hooks.Commit, len(cs))
	for i, c := range cs {
		out[i] = hooks.Commit{SHA: c.SHA, Message: c.Message, AuthorName: c.AuthorName, AuthorEmail: c.AuthorEmail, Timestamp: c.AuthoredAt}
	}
	return out, total, nil
}

// webAutomation is what the schedules and webhooks pages need.
func (m *Main) webAutomation() web.Automation {
	a := m.Config.Automation
	return web.Automation{MaxSchedules: int(a.MaxPipelineSchedules), MinScheduleInterval: a.MinScheduleInterval,
		MaxHooks: int(a.MaxWebhooks), AllowLocalHooks: a.AllowLocalWebhooks, CreatePipeline: m.Planner.Create,
		TestHook: m.Hooks.Test}
}
