package archtest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/api"
	"github.com/batonci/baton/internal/gitserve"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/policy"
	"github.com/batonci/baton/internal/runnerapi"
	"github.com/batonci/baton/internal/web"
)

// recorder is a mux that records what a surface registers.
type recorder map[string]http.Handler

func (m recorder) Handle(pattern string, h http.Handler) {
	if _, dup := m[pattern]; dup {
		panic("pattern registered twice: " + pattern)
	}
	m[pattern] = h
}

// registrar is a surface that registers its routes on a mux and describes
// its route table.
type registrar interface {
	Register(httpx.Mux)
	Routes() []policy.Route
}

// TestEveryRouteNamesAnAbility walks every surface's route table (git's
// dispatches by its table alone, see gitserve.TestRouteTable): each
// route names the ability its caller needs or a marker saying why none is
// asked, and each route other than GET declares a body limit.
func TestEveryRouteNamesAnAbility(t *testing.T) {
	surfaces := map[string][]policy.Route{
		"api":       (&api.Server{}).Routes(),
		"runnerapi": (&runnerapi.Server{}).Routes(),
		"web":       web.Routes(),
		"git":       (&gitserve.Handler{MaxPushBytes: 1 << 20}).Routes(),
	}
	least := map[string]int{"api": 10, "runnerapi": 10, "web": 10, "git": 4}
	for name, routes := range surfaces {
		if len(routes) < least[name] {
			t.Errorf("%s: only %d routes in the table", name, len(routes))
		}
		for _, rt := range routes {
			if err := checkRoute(rt); err != "" {
				t.Errorf("%s: %s: %s", name, rt.Pattern, err)
			}
		}
	}
}

// checkRoute is what TestEveryRouteNamesAnAbility asks of one route.
func checkRoute(rt policy.Route) string {
	if rt.Ability.Resource() == policy.ResourceUnknown {
		return "names no ability (add one to internal/policy, or a marker such as policy.Public)"
	}
	method, _, ok := strings.Cut(rt.Pattern, " ")
	if !ok {
		method = "" // every method
	}
	if method != http.MethodGet && rt.Body == 0 {
		return "declares no body limit"
	}
	return ""
}

// TestCheckRouteRefuses: the check above fails routes without an ability
// or (other than GET) without a body limit.
func TestCheckRouteRefuses(t *testing.T) {
	for _, c := range []struct {
		rt   policy.Route
		fail bool
	}{
		{policy.Route{Pattern: "GET /x", Ability: policy.ReadProject}, false},
		{policy.Route{Pattern: "GET /x", Ability: policy.Public}, false},
		{policy.Route{Pattern: "GET /x"}, true},
		{policy.Route{Pattern: "GET /x", Ability: policy.Ability(999)}, true},
		{policy.Route{Pattern: "POST /x", Ability: policy.UpdateJob}, true},
		{policy.Route{Pattern: "POST /x", Ability: policy.UpdateJob, Body: -1}, false},
		{policy.Route{Pattern: "/x", Ability: policy.Public}, true},
		{policy.Route{Pattern: "/x", Ability: policy.Public, Body: 1}, false},
	} {
		if got := checkRoute(c.rt) != ""; got != c.fail {
			t.Errorf("checkRoute(%+v) fails = %v, want %v", c.rt, got, c.fail)
		}
	}
}

// TestMuxIsTheTable: what the API and the runner API register on their mux
// is exactly their route table, every handler bounded by its line's body
// limit.
func TestMuxIsTheTable(t *testing.T) {
	for name, s := range map[string]registrar{"api": &api.Server{}, "runnerapi": &runnerapi.Server{}} {
		mux := recorder{}
		s.Register(mux)
		table := map[string]policy.Route{}
		for _, rt := range s.Routes() {
			table[rt.Pattern] = rt
		}
		for pattern, h := range mux {
			rt, ok := table[pattern]
			if !ok {
				t.Errorf("%s registers %q, which is not in its route table", name, pattern)
				continue
			}
			l, ok := h.(*httpx.Limited)
			if !ok {
				t.Errorf("%s: %s is registered without a body limit", name, pattern)
				continue
			}
			if l.Max != rt.Body {
				t.Errorf("%s: %s is registered with body limit %d, its table line says %d", name, pattern, l.Max, rt.Body)
			}
		}
		for pattern := range table {
			if _, ok := mux[pattern]; !ok {
				t.Errorf("%s: %s is in the route table but not registered", name, pattern)
			}
		}
	}
}
