package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/policy"
)

type memberEntity struct {
	ID          int64      `json:"id"`
	Username    string     `json:"username"`
	Name        string     `json:"name"`
	State       string     `json:"state"`
	AccessLevel int        `json:"access_level"`
	WebURL      string     `json:"web_url"`
	CreatedAt   *time.Time `json:"created_at"`
}

func validAccessLevel(raw string) (ci.AccessLevel, error) {
	n, err := strconv.Atoi(raw)
	lvl := ci.AccessLevel(n)
	switch {
	case err != nil:
	case lvl.Role():
		return lvl, nil
	}
	return 0, ci.Errorf(ci.KindInvalid, "400 Bad request - access_level does not have a valid value: %q (10, 20, 30, 40 or 50)", raw)
}

func (s *Server) memberEntities(r *http.Request, ms []*ci.Member) ([]memberEntity, error) {
	out := make([]memberEntity, 0, len(ms))
	for _, m := range ms {
		u, err := s.Store.UserByID(r.Context(), m.UserID)
		if err != nil {
			return nil, err
		}
		t := m.CreatedAt.UTC()
		out = append(out, memberEntity{ID: u.ID, Username: u.Username, Name: u.Name, State: "active",
			AccessLevel: int(m.AccessLevel), WebURL: s.ExternalURL + "/" + u.Username, CreatedAt: &t})
	}
	return out, nil
}

func (s *Server) members(w http.ResponseWriter, r *http.Request, ms []*ci.Member) error {
	out, err := s.memberEntities(r, ms)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// member writes one member, as GitLab answers adding one.
func (s *Server) member(w http.ResponseWriter, r *http.Request, status int, m *ci.Member) error {
	out, err := s.memberEntities(r, []*ci.Member{m})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, status, out[0])
	return nil
}

// listAllProjectMembers is GET /projects/:id/members/all: direct members,
// members of the project's ancestor groups and the owner of its personal
// namespace, each at the highest level they hold.
func (s *Server) listAllProjectMembers(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	direct, err := s.Store.ListProjectMembers(ctx, proj.ID)
	if err != nil {
		return err
	}
	lists := [][]*ci.Member{direct}
	ancestors, err := s.Store.NamespaceAncestors(ctx, proj.NamespaceID)
	if err != nil {
		return err
	}
	for _, id := range ancestors {
		ms, err := s.Store.ListNamespaceMembers(ctx, id)
		if err != nil {
			return err
		}
		lists = append(lists, ms)
	}
	ns, err := s.Store.NamespaceByID(ctx, proj.NamespaceID)
	if err != nil {
		return err
	}
	if ns.OwnerID != 0 {
		lists = append(lists, []*ci.Member{{UserID: ns.OwnerID, NamespaceID: ns.ID, AccessLevel: ci.AccessOwner, CreatedAt: ns.CreatedAt}})
	}
	return s.members(w, r, policy.EffectiveMembers(lists...))
}

// memberFromParams reads user_id and access_level and checks the user exists.
func (s *Server) memberFromParams(r *http.Request) (*ci.Member, *ci.User, error) {
	q, err := httpx.ReadParams(r)
	if err != nil {
		return nil, nil, err
	}
	raw, err := q.Required("user_id")
	if err != nil {
		return nil, nil, err
	}
	uid, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return nil, nil, ci.Errorf(ci.KindInvalid, "400 Bad request - user_id is invalid: %q", raw)
	}
	rawLvl, err := q.Required("access_level")
	if err != nil {
		return nil, nil, err
	}
	lvl, err := validAccessLevel(rawLvl)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.Store.UserByID(r.Context(), uid)
	if ci.IsNotFound(err) {
		return nil, nil, ci.Errorf(ci.KindNotFound, "404 User %d Not Found", uid)
	}
	if err != nil {
		return nil, nil, err
	}
	return &ci.Member{UserID: uid, AccessLevel: lvl, CreatedAt: time.Now()}, u, nil
}

func (s *Server) listProjectMembers(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	ms, err := s.Store.ListProjectMembers(r.Context(), proj.ID)
	if err != nil {
		return err
	}
	return s.members(w, r, ms)
}

func (s *Server) addProjectMember(w http.ResponseWriter, r *http.Request) error {
	proj, p, err := s.projectFor(r)
	if err != nil {
		return err
	}
	m, _, err := s.memberFromParams(r)
	if err != nil {
		return err
	}
	m.ProjectID = proj.ID
	if err := s.changeMember(r, p, proj, nil, m.UserID, m.AccessLevel); err != nil {
		return err
	}
	if err := s.Store.SetMember(r.Context(), m); err != nil {
		return err
	}
	return s.member(w, r, http.StatusCreated, m)
}

func (s *Server) removeProjectMember(w http.ResponseWriter, r *http.Request) error {
	proj, p, err := s.projectFor(r)
	if err != nil {
		return err
	}
	uid, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	if err := s.changeMember(r, p, proj, nil, uid, ci.AccessNone); err != nil {
		return err
	}
	if err := s.Store.RemoveMember(r.Context(), proj.ID, 0, uid); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// changeMember asks the policy's membership rules whether the caller may
// move user uid's direct membership of proj (or else group ns) to level to
// (AccessNone: remove it).
func (s *Server) changeMember(r *http.Request, p *auth.Principal, proj *ci.Project, ns *ci.Namespace, uid int64, to ci.AccessLevel) error {
	ctx := r.Context()
	var (
		m      policy.Membership
		direct []*ci.Member
		owners int
		err    error
	)
	if proj != nil {
		if m, err = s.Policy.Caller(ctx, p, proj); err == nil {
			if direct, err = s.Store.ListProjectMembers(ctx, proj.ID); err == nil {
				owners, err = s.Store.CountOwners(ctx, proj.ID, 0)
			}
		}
	} else {
		if m, err = s.Policy.GroupCaller(ctx, p, ns); err == nil {
			if direct, err = s.Store.ListNamespaceMembers(ctx, ns.ID); err == nil {
				owners, err = s.Store.CountOwners(ctx, 0, ns.ID)
			}
		}
	}
	if err != nil {
		return err
	}
	for _, d := range direct {
		if d.UserID == uid {
			m.From = d.AccessLevel
		}
	}
	m.To = to
	return policy.ChangeMember(m, owners)
}

func (s *Server) listGroupMembers(w http.ResponseWriter, r *http.Request) error {
	g, _, err := s.groupFor(r)
	if err != nil {
		return err
	}
	ms, err := s.Store.ListNamespaceMembers(r.Context(), g.ID)
	if err != nil {
		return err
	}
	return s.members(w, r, ms)
}

func (s *Server) addGroupMember(w http.ResponseWriter, r *http.Request) error {
	g, p, err := s.groupFor(r)
	if err != nil {
		return err
	}
	m, _, err := s.memberFromParams(r)
	if err != nil {
		return err
	}
	m.NamespaceID = g.ID
	if err := s.changeMember(r, p, nil, g, m.UserID, m.AccessLevel); err != nil {
		return err
	}
	if err := s.Store.SetMember(r.Context(), m); err != nil {
		return err
	}
	return s.member(w, r, http.StatusCreated, m)
}
