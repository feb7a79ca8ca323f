package api

import (
	"net/http"
	"strings"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

// accessLevelEntity is one of GitLab's *_access_levels entries.
type accessLevelEntity struct {
	ID                     int64  `json:"id"`
	AccessLevel            int    `json:"access_level"`
	AccessLevelDescription string `json:"access_level_description"`
	DeployKeyID            *int64 `json:"deploy_key_id"`
	UserID                 *int64 `json:"user_id"`
	GroupID                *int64 `json:"group_id"`
}

type protectedBranchEntity struct {
	ID                        int64               `json:"id"`
	Name                      string              `json:"name"`
	PushAccessLevels          []accessLevelEntity `json:"push_access_levels"`
	MergeAccessLevels         []accessLevelEntity `json:"merge_access_levels"`
	UnprotectAccessLevels     []accessLevelEntity `json:"unprotect_access_levels"`
	AllowForcePush            bool                `json:"allow_force_push"`
	CodeOwnerApprovalRequired bool                `json:"code_owner_approval_required"`
}

type protectedTagEntity struct {
	Name               string              `json:"name"`
	CreateAccessLevels []accessLevelEntity `json:"create_access_levels"`
}

func levels(id int64, l ci.AccessLevel) []accessLevelEntity {
	return []accessLevelEntity{{ID: id, AccessLevel: int(l), AccessLevelDescription: ci.ProtectLevelName(l)}}
}

func protectedBranchJSON(r *ci.ProtectedRef) protectedBranchEntity {
	return protectedBranchEntity{ID: r.ID, Name: r.Name, PushAccessLevels: levels(r.ID, r.PushLevel),
		MergeAccessLevels: levels(r.ID, r.MergeLevel), UnprotectAccessLevels: []accessLevelEntity{}, AllowForcePush: r.AllowForcePush}
}

func protectedTagJSON(r *ci.ProtectedRef) protectedTagEntity {
	return protectedTagEntity{Name: r.Name, CreateAccessLevels: levels(r.ID, r.CreateLevel)}
}

// protectedTags reports whether the route is one of protected_tags.
func protectedTags(r *http.Request) bool { return strings.Contains(r.URL.Path, "/protected_tags") }

func (s *Server) protectedJSON(r *http.Request, p *ci.ProtectedRef) any {
	if p.Tag {
		return protectedTagJSON(p)
	}
	return protectedBranchJSON(p)
}

func (s *Server) listProtectedRefs(c *call) (answer, error) {
	q, pg, err := c.paged()
	if err != nil {
		return answer{}, err
	}
	all, err := s.Store.ListProtectedRefs(c.ctx(), c.proj.ID)
	if err != nil {
		return answer{}, err
	}
	tags := protectedTags(c.r)
	search := q.Get("search")
	var rules []*ci.ProtectedRef
	for _, p := range all {
		if p.Tag == tags && strings.Contains(p.Name, search) {
			rules = append(rules, p)
		}
	}
	out := []any{}
	for i := pg.Offset(); i < len(rules) && i < pg.Offset()+pg.PerPage; i++ {
		out = append(out, s.protectedJSON(c.r, rules[i]))
	}
	return page(pg, len(rules), out), nil
}

// protectedRefOf finds the route's {name} rule of the project.
func (s *Server) protectedRefOf(c *call) (*ci.ProtectedRef, error) {
	all, err := s.Store.ListProtectedRefs(c.ctx(), c.proj.ID)
	if err != nil {
		return nil, err
	}
	tags, name := protectedTags(c.r), c.r.PathValue("name")
	for _, p := range all {
		if p.Tag == tags && p.Name == name {
			return p, nil
		}
	}
	if tags {
		return nil, ci.Errorf(ci.KindNotFound, "404 Protected tag Not Found")
	}
	return nil, ci.Errorf(ci.KindNotFound, "404 Protected Branch Not Found")
}

func (s *Server) getProtectedRef(c *call, p *ci.ProtectedRef) (answer, error) {
	return ok(s.protectedJSON(c.r, p)), nil
}

// protectLevel reads an access level parameter a protected ref may require.
func protectLevel(q *httpx.Params, key string, def ci.AccessLevel) (ci.AccessLevel, error) {
	n, err := q.Int(key, int64(def))
	if err != nil {
		return def, err
	}
	if l := ci.AccessLevel(n); ci.ValidProtectLevel(l) {
		return l, nil
	}
	return def, ci.Errorf(ci.KindInvalid, "400 Bad request - %s does not have a valid value: %d (0 no one, 30 developers, 40 maintainers, 60 administrators)", key, n)
}

func (s *Server) createProtectedRef(c *call) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	name, err := q.Required("name")
	if err != nil {
		return answer{}, err
	}
	if !ci.ValidProtectedRefName(name) {
		return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - name is invalid: %q", name)
	}
	p := &ci.ProtectedRef{ProjectID: c.proj.ID, Tag: protectedTags(c.r), Name: name}
	if p.Tag {
		if p.CreateLevel, err = protectLevel(q, "create_access_level", ci.AccessMaintainer); err != nil {
			return answer{}, err
		}
	} else {
		if p.PushLevel, err = protectLevel(q, "push_access_level", ci.AccessMaintainer); err != nil {
			return answer{}, err
		}
		if p.MergeLevel, err = protectLevel(q, "merge_access_level", ci.AccessMaintainer); err != nil {
			return answer{}, err
		}
		if p.AllowForcePush, err = q.Bool("allow_force_push", false); err != nil {
			return answer{}, err
		}
	}
	all, err := s.Store.ListProtectedRefs(c.ctx(), c.proj.ID)
	if err != nil {
		return answer{}, err
	}
	if len(all) >= ci.MaxProtectedRefs {
		return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - the project already has %d protected branches and tags, the limit", len(all))
	}
	if err := s.Store.CreateProtectedRef(c.ctx(), p); err != nil {
		if ci.IsConflict(err) {
			what := "Protected branch"
			if p.Tag {
				what = "Protected tag"
			}
			return answer{}, ci.Errorf(ci.KindConflict, "409 Conflict: %s '%s' already exists", what, name)
		}
		return answer{}, err
	}
	return created(s.protectedJSON(c.r, p)), nil
}

// updateProtectedBranch is PATCH /projects/:id/protected_branches/:name:
// allow_force_push and the access levels.
func (s *Server) updateProtectedBranch(c *call, p *ci.ProtectedRef) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	if p.PushLevel, err = protectLevel(q, "push_access_level", p.PushLevel); err != nil {
		return answer{}, err
	}
	if p.MergeLevel, err = protectLevel(q, "merge_access_level", p.MergeLevel); err != nil {
		return answer{}, err
	}
	if p.AllowForcePush, err = q.Bool("allow_force_push", p.AllowForcePush); err != nil {
		return answer{}, err
	}
	if err := s.Store.UpdateProtectedRef(c.ctx(), p); err != nil {
		return answer{}, err
	}
	return ok(s.protectedJSON(c.r, p)), nil
}

func (s *Server) deleteProtectedRef(c *call, p *ci.ProtectedRef) (answer, error) {
	return noContent, s.Store.DeleteProtectedRef(c.ctx(), p.ID)
}
