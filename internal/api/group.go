package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/policy"
)

// groupFor resolves :id to a group and asks the policy whether the caller
// may do the route's ability on it. A group the caller cannot see is 404,
// like a missing one.
func (s *Server) groupFor(r *http.Request) (*ci.Namespace, *auth.Principal, error) {
	p, err := s.principal(r)
	if err != nil {
		return nil, nil, err
	}
	g, err := s.lookupGroup(r)
	if err != nil {
		return nil, nil, err
	}
	if err := s.Policy.Namespace(r.Context(), p, routeAbility(r), g); err != nil {
		return nil, nil, err
	}
	return g, p, nil
}

func (s *Server) lookupGroup(r *http.Request) (*ci.Namespace, error) {
	ns, err := byIDOrPath(r.Context(), r.PathValue("id"), s.Store.NamespaceByID, s.Store.NamespaceByFullPath)
	if ci.IsNotFound(err) || (err == nil && ns.Kind != ci.NamespaceGroup) {
		return nil, ci.Errorf(ci.KindNotFound, "404 Group Not Found")
	}
	return ns, err
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) error {
	p, err := s.instanceFor(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	name, path := strings.TrimSpace(q.Get("name")), strings.TrimSpace(q.Get("path"))
	if name == "" {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - name is missing")
	}
	if path == "" {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - path is missing")
	}
	if err := validPath("group", path); err != nil {
		return err
	}
	vis, err := parseVisibility(q.Get("visibility"), ci.VisibilityPrivate)
	if err != nil {
		return err
	}
	g := &ci.Namespace{Name: name, Path: path, Kind: ci.NamespaceGroup, Visibility: vis, Description: q.Get("description")}
	if raw := q.Get("parent_id"); raw != "" {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - parent_id is invalid: %q", raw)
		}
		parent, err := s.Store.NamespaceByID(r.Context(), id)
		if ci.IsNotFound(err) || (err == nil && parent.Kind != ci.NamespaceGroup) {
			return ci.Errorf(ci.KindNotFound, "404 Parent group %d Not Found", id)
		}
		if err != nil {
			return err
		}
		if err := s.Policy.Namespace(r.Context(), p, policy.CreateSubgroup, parent); err != nil {
			if ci.IsNotFound(err) {
				return ci.Errorf(ci.KindNotFound, "404 Parent group %d Not Found", id)
			}
			return err
		}
		g.ParentID = parent.ID
	}
	if err := s.Store.CreateGroup(r.Context(), g); err != nil {
		if ci.IsConflict(err) {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - path %q has already been taken", path)
		}
		return err
	}
	if err := s.Store.SetMember(r.Context(), &ci.Member{UserID: p.User.ID, NamespaceID: g.ID, AccessLevel: ci.AccessOwner}); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, s.group(g))
	return nil
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) error {
	g, _, err := s.groupFor(r)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s.group(g))
	return nil
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) error {
	p, err := s.instanceFor(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	pg, err := q.Page()
	if err != nil {
		return err
	}
	groups, total, err := s.Store.ListGroups(r.Context(), p.UserID(), p.Admin(), pg)
	if err != nil {
		return err
	}
	out := make([]groupEntity, 0, len(groups))
	for _, g := range groups {
		out = append(out, s.group(g))
	}
	s.setPagination(w, r, pg, total)
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}
