package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
)

// hiddenValue is what the page shows for a masked variable's value: the
// value itself never goes into the HTML.
const hiddenValue = "*****"

// variableRow is one variable as the page shows it.
type variableRow struct {
	Key, Value, Environment, Description string
	File, Protected, Masked, Raw         bool
}

// variablesPage is /<project>/-/settings/ci_cd: the project's CI/CD
// variables for Maintainers (ReadVariables, asked by the route table),
// masked values hidden, with forms to add, change and delete them.
func (s *Server) variablesPage(c *req, problem string, form url.Values) error {
	if s.Variables == nil {
		return notFound()
	}
	vs, err := s.Variables.List(c.r.Context(), ci.ScopeProject, c.proj.ID)
	if err != nil && ci.KindOf(err) != ci.KindUnavailable {
		return err
	}
	rows := make([]variableRow, 0, len(vs))
	for _, v := range vs {
		r := variableRow{Key: v.Key, Value: v.Value, Environment: v.Environment, Description: v.Description,
			File: v.File, Protected: v.Protected, Masked: v.Masked, Raw: v.Raw}
		if v.Masked {
			r.Value = hiddenValue
		}
		rows = append(rows, r)
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusUnprocessableEntity
	}
	if form == nil {
		form = url.Values{}
	}
	form.Del("value") // never echoed back, masked or not
	return s.render(c, status, "variables", "CI/CD variables · "+c.proj.FullPath, map[string]any{
		"Variables": rows, "Problem": problem, "Form": form, "Saved": c.r.URL.Query().Get("saved"),
		"CanAdmin": s.can(c, policy.AdminVariables),
	})
}

// saveVariable creates a variable from the form, or (update) changes the
// one named by the form's original key and environment scope; an empty
// value on update keeps the stored one.
func (s *Server) saveVariable(c *req, update bool) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	if s.Variables == nil {
		return notFound()
	}
	f := c.r.PostForm
	apply := func(v *ci.CIVariable) error {
		if val := f.Get("value"); val != "" || !update {
			v.Value = strings.ReplaceAll(val, "\r\n", "\n")
		}
		v.File = f.Get("variable_type") == "file"
		v.Protected, v.Masked, v.Raw = f.Get("protected") == "true", f.Get("masked") == "true", f.Get("raw") == "true"
		v.Environment = strings.TrimSpace(f.Get("environment_scope"))
		v.Description = f.Get("description")
		return nil
	}
	ctx := c.r.Context()
	var err error
	if update {
		_, err = s.Variables.Update(ctx, ci.ScopeProject, c.proj.ID, f.Get("key"), f.Get("original_environment_scope"), apply)
	} else {
		v := &ci.CIVariable{Scope: ci.ScopeProject, OwnerID: c.proj.ID, Key: strings.TrimSpace(f.Get("key"))}
		_ = apply(v)
		err = s.Variables.Create(ctx, v)
	}
	if err != nil {
		switch ci.KindOf(err) {
		case ci.KindInvalid, ci.KindConflict, ci.KindNotFound, ci.KindUnavailable:
			return s.variablesPage(c, problemText(err), f)
		}
		return err
	}
	http.Redirect(c.w, c.r, "/"+c.proj.FullPath+"/-/settings/ci_cd?saved="+url.QueryEscape(f.Get("key")), http.StatusSeeOther)
	return nil
}

// deleteVariable deletes the variable the form names (key, environment scope).
func (s *Server) deleteVariable(c *req) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	if s.Variables == nil {
		return notFound()
	}
	f := c.r.PostForm
	if err := s.Variables.Delete(c.r.Context(), ci.ScopeProject, c.proj.ID, f.Get("key"), f.Get("environment_scope")); err != nil {
		if ci.IsNotFound(err) {
			return s.variablesPage(c, "That variable is gone already.", nil)
		}
		return err
	}
	http.Redirect(c.w, c.r, "/"+c.proj.FullPath+"/-/settings/ci_cd", http.StatusSeeOther)
	return nil
}

// problemText is an error's message without its status prefix.
func problemText(err error) string {
	msg := ci.MessageOf(err)
	for _, p := range []string{"400 Bad request - ", "409 ", "404 ", "503 Service Unavailable - "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

// protectBranch adds a protected branch rule from the settings page.
func (s *Server) protectBranch(c *req) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	f := c.r.PostForm
	name := strings.TrimSpace(f.Get("name"))
	push, err1 := strconv.Atoi(f.Get("push_access_level"))
	merge, err2 := strconv.Atoi(f.Get("merge_access_level"))
	r := &ci.ProtectedRef{ProjectID: c.proj.ID, Name: name, PushLevel: ci.AccessLevel(push), MergeLevel: ci.AccessLevel(merge),
		AllowForcePush: f.Get("allow_force_push") == "true"}
	if name == "" || len(name) > 255 || strings.ContainsAny(name, " \t\n\x00~^:?[\\") || err1 != nil || err2 != nil ||
		!ci.ValidProtectLevel(r.PushLevel) || !ci.ValidProtectLevel(r.MergeLevel) {
		return s.settingsPage(c, "A protected branch needs a valid name or wildcard (release/*) and access levels.", nil)
	}
	if err := s.Store.CreateProtectedRef(c.r.Context(), r); err != nil {
		if ci.IsConflict(err) {
			return s.settingsPage(c, "Branch "+name+" is protected already.", nil)
		}
		return err
	}
	http.Redirect(c.w, c.r, "/"+c.proj.FullPath+"/-/settings?saved=1", http.StatusSeeOther)
	return nil
}

// unprotectBranch removes the protected branch rule the form names.
func (s *Server) unprotectBranch(c *req) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	rules, err := s.Store.ListProtectedRefs(c.r.Context(), c.proj.ID)
	if err != nil {
		return err
	}
	name := c.r.PostForm.Get("name")
	for _, r := range rules {
		if !r.Tag && r.Name == name {
			if err := s.Store.DeleteProtectedRef(c.r.Context(), r.ID); err != nil && !ci.IsNotFound(err) {
				return err
			}
			break
		}
	}
	http.Redirect(c.w, c.r, "/"+c.proj.FullPath+"/-/settings?saved=1", http.StatusSeeOther)
	return nil
}

// protectLevels are the levels the protected branch form offers.
var protectLevels = []struct {
	Level ci.AccessLevel
	Name  string
}{{ci.AccessMaintainer, "Maintainers"}, {ci.AccessDeveloper, "Developers + Maintainers"}, {ci.AccessNone, "No one"}, {ci.AccessAdmin, "Administrators"}}

// protectedBranches are the settings page's protected branch rules.
func (s *Server) protectedBranches(c *req) ([]*ci.ProtectedRef, error) {
	all, err := s.Store.ListProtectedRefs(c.r.Context(), c.proj.ID)
	if err != nil {
		return nil, err
	}
	var out []*ci.ProtectedRef
	for _, r := range all {
		if !r.Tag {
			out = append(out, r)
		}
	}
	return out, nil
}

func levelName(l ci.AccessLevel) string {
	for _, p := range protectLevels {
		if p.Level == l {
			return p.Name
		}
	}
	return strconv.Itoa(int(l))
}
