package api

import (
	"context"
	"net/http"

	"github.com/batonci/baton/internal/events"
)

// pipelineEvents streams the pipeline's events as Server-Sent Events
// (package events), resuming after Last-Event-ID or after=. Every wake-up
// authorizes the caller again; a stream counts against
// --max-event-streams(-per-client) like a wait against --max-waiters.
func (s *Server) pipelineEvents(w http.ResponseWriter, r *http.Request) error {
	_, pl, p, err := s.pipelineFor(r)
	if err != nil {
		return err
	}
	req, err := events.ReadRequest(r)
	if err != nil {
		return err
	}
	req.PipelineID, req.Clients = pl.ID, waitClients(r, p)
	req.Recheck = func(context.Context) error {
		_, _, _, err := s.pipelineFor(r)
		return err
	}
	return s.Events.Stream(w, r, req)
}
