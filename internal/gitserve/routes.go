package gitserve

import (
	"net/http"

	"github.com/batonci/baton/internal/policy"
)

// route is one line of git's route table: a smart-HTTP endpoint below a
// repository path (any namespace depth, so no ServeMux pattern can say
// it), the service it runs, the ability its caller needs on the project
// and the most body bytes it reads (negative: streamed to git unbounded).
type route struct {
	method  string
	rest    string // restInfoRefs, restUploadPack or restReceivePack
	service string // git-upload-pack or git-receive-pack (info/refs: ?service=)
	ability policy.Ability
	body    int64
}

// pushSlack is what a receive-pack body may carry beyond --max-push-size:
// the ref-update commands before the pack (about 100 bytes a ref).
const pushSlack = 16 << 20

// routes is git's route table; ServeHTTP dispatches by it alone.
func (h *Handler) routes() []route {
	push := int64(-1) // git's receive.maxInputSize bounds the pack when set
	if h.MaxPushBytes > 0 {
		push = h.MaxPushBytes + pushSlack
	}
	return []route{
		{http.MethodGet, restInfoRefs, "git-upload-pack", policy.ReadCode, 0},
		{http.MethodGet, restInfoRefs, "git-receive-pack", policy.PushCode, 0},
		// A fetch's wants and haves stream into upload-pack, which reads
		// them as they come: no body is held in memory or on disk.
		{http.MethodPost, restUploadPack, "git-upload-pack", policy.ReadCode, -1},
		{http.MethodPost, restReceivePack, "git-receive-pack", policy.PushCode, push},
	}
}

// Routes describes the route table for checks that walk every surface.
func (h *Handler) Routes() []policy.Route {
	rts := h.routes()
	out := make([]policy.Route, len(rts))
	for i, rt := range rts {
		pattern := rt.method + " /{project...}" + rt.rest
		if rt.rest == restInfoRefs {
			pattern += "?service=" + rt.service
		}
		out[i] = policy.Route{Pattern: pattern, Ability: rt.ability, Body: rt.body}
	}
	return out
}

// routeOf finds the table's line for a request to the endpoint rest, or
// the status refusing it: 404 for no such endpoint, 405 for another
// method, 403 for info/refs without a smart service (the dumb protocol).
func (h *Handler) routeOf(r *http.Request, rest string) (route, int) {
	status := http.StatusNotFound
	for _, rt := range h.routes() {
		switch {
		case rt.rest != rest:
		case rt.method != r.Method:
			status = max(status, http.StatusMethodNotAllowed)
		case rt.rest == restInfoRefs && r.URL.Query().Get("service") != rt.service:
			status = http.StatusForbidden
		default:
			return rt, 0
		}
	}
	return route{}, status
}
