package web

import (
	"fmt"
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

// varPlace is where a variables page keeps its variables: the scope and
// owner, the page's path (the forms post below it), its heading, and the
// abilities that read and change them.
type varPlace struct {
	Scope   ci.VariableScope
	OwnerID int64
	Base    string // the page's path, e.g. /<project>/-/settings/ci_cd
	Heading string
	Intro   string
	Env     bool // environment scopes apply (not for the instance's)
	admin   policy.Ability
	group   *ci.Namespace
}

func showVariables(s *Server, c *req, pl *varPlace) error  { return s.variablesPage(c, pl, "", nil) }
func createVariable(s *Server, c *req, pl *varPlace) error { return s.saveVariable(c, pl, false) }
func updateVariable(s *Server, c *req, pl *varPlace) error { return s.saveVariable(c, pl, true) }

// projectVars is the project's variables page place.
func projectVars(s *Server, c *req, _ string) (*varPlace, error) {
	return &varPlace{Scope: ci.ScopeProject, OwnerID: c.proj.ID, Base: "/" + c.proj.FullPath + "/-/settings/ci_cd",
		Heading: "CI/CD variables", Env: true, admin: policy.AdminVariables,
		Intro: "Jobs of this project's pipelines get these variables. Protected ones reach only pipelines of protected branches and tags; masked ones are hidden in job logs and never shown here."}, nil
}

// groupVars is the group's variables page place, /-/groups/<group>/settings/ci_cd,
// after the policy allowed the route's ability on the group: a group the
// caller may not see is a missing one.
func (s *Server) groupVars(c *req, path string) (*varPlace, error) {
	g, err := s.Store.NamespaceByFullPath(c.r.Context(), path)
	if ci.IsNotFound(err) || (err == nil && g.Kind != ci.NamespaceGroup) {
		return nil, errGroupNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := s.groupAllowed(c, g, c.ability); err != nil {
		return nil, err
	}
	return &varPlace{Scope: ci.ScopeGroup, OwnerID: g.ID, Base: "/-/groups/" + g.FullPath + "/settings/ci_cd", group: g,
		Heading: "CI/CD variables of group " + g.FullPath, Env: true, admin: policy.AdminGroupVariables,
		Intro: "Jobs of every project in this group and its subgroups get these variables (a project's own variable of the same key wins). Protected ones reach only pipelines of protected branches and tags; masked ones are hidden in job logs and never shown here."}, nil
}

// instanceVars is the instance's variables page place, /-/admin/ci_cd
// (administrators).
func instanceVars(s *Server, c *req, _ string) (*varPlace, error) {
	if err := s.requireInstance(c); err != nil {
		return nil, err
	}
	return &varPlace{Scope: ci.ScopeInstance, Base: "/-/admin/ci_cd", Heading: "Instance CI/CD variables",
		admin: policy.AdminInstanceVariables,
		Intro: "Jobs of every project get these variables (group and project variables of the same key win). Protected ones reach only pipelines of protected branches and tags; masked ones are hidden in job logs and never shown here."}, nil
}

// errGroupNotFound answers for a group that does not exist and for one
// the caller may not see alike.
var errGroupNotFound = ci.Errorf(ci.KindNotFound, "404 Group Not Found")

// groupAllowed asks the policy for a group ability; a refusal to see the
// group is a missing group, and changes need a signed-in session.
func (s *Server) groupAllowed(c *req, g *ci.Namespace, a policy.Ability) error {
	if err := s.Policy.Namespace(c.r.Context(), c.p, a, g); err != nil {
		if ci.IsNotFound(err) {
			return errGroupNotFound
		}
		return err
	}
	if a.Writes() && c.sess == nil {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: sign in to change this")
	}
	return nil
}

// canAdminVars reports whether the caller may change the place's variables.
func (s *Server) canAdminVars(c *req, pl *varPlace) bool {
	switch pl.Scope {
	case ci.ScopeProject:
		return s.can(c, pl.admin)
	case ci.ScopeGroup:
		return s.groupAllowed(c, pl.group, pl.admin) == nil
	}
	return s.instanceAllowed(c, pl.admin) == nil && c.sess != nil
}

// variablesPage is a variables page (the project's, a group's or the
// instance's; the route table names the ability that reads them), masked
// values hidden, with forms to add, change and delete them.
func (s *Server) variablesPage(c *req, pl *varPlace, problem string, form url.Values) error {
	if s.Variables == nil {
		return notFound()
	}
	vs, err := s.Variables.List(c.r.Context(), pl.Scope, pl.OwnerID)
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
	title := "CI/CD variables"
	if c.proj != nil {
		title += " · " + c.proj.FullPath
	} else if pl.group != nil {
		title += " · " + pl.group.FullPath
	}
	return s.render(c, status, "variables", title, map[string]any{
		"Variables": rows, "Problem": problem, "Form": form, "Saved": c.r.URL.Query().Get("saved"),
		"CanAdmin": s.canAdminVars(c, pl), "Place": pl,
	})
}

// saveVariable creates a variable from the form, or (update) changes the
// one named by the form's original key and environment scope; an empty
// value on update keeps the stored one.
func (s *Server) saveVariable(c *req, pl *varPlace, update bool) error {
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
		if pl.Env {
			v.Environment = strings.TrimSpace(f.Get("environment_scope"))
		}
		v.Description = f.Get("description")
		return nil
	}
	ctx := c.r.Context()
	var err error
	if update {
		_, err = s.Variables.Update(ctx, pl.Scope, pl.OwnerID, f.Get("key"), f.Get("original_environment_scope"), apply)
	} else {
		v := &ci.CIVariable{Scope: pl.Scope, OwnerID: pl.OwnerID, Key: strings.TrimSpace(f.Get("key"))}
		_ = apply(v)
		err = s.Variables.Create(ctx, v)
	}
	if err != nil {
		switch ci.KindOf(err) {
		case ci.KindInvalid, ci.KindConflict, ci.KindNotFound, ci.KindUnavailable:
			return s.variablesPage(c, pl, problemText(err), f)
		}
		return err
	}
	http.Redirect(c.w, c.r, pl.Base+"?saved="+url.QueryEscape(f.Get("key")), http.StatusSeeOther)
	return nil
}

// deleteVariable deletes the variable the form names (key, environment scope).
func (s *Server) deleteVariable(c *req, pl *varPlace) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	if s.Variables == nil {
		return notFound()
	}
	f := c.r.PostForm
	if err := s.Variables.Delete(c.r.Context(), pl.Scope, pl.OwnerID, f.Get("key"), f.Get("environment_scope")); err != nil {
		if ci.IsNotFound(err) {
			return s.variablesPage(c, pl, "That variable is gone already.", nil)
		}
		return err
	}
	http.Redirect(c.w, c.r, pl.Base, http.StatusSeeOther)
	return nil
}

// varRoute serves a variables route of the place where returns.
func varRoute(where func(s *Server, c *req, arg string) (*varPlace, error), do func(s *Server, c *req, pl *varPlace) error) func(s *Server, c *req, _ struct{}, arg string) error {
	return func(s *Server, c *req, _ struct{}, arg string) error {
		pl, err := where(s, c, arg)
		if err != nil {
			return err
		}
		return do(s, c, pl)
	}
}

// problemText is an error's message without its status prefix.
func problemText(err error) string {
	msg := ci.MessageOf(err)
	for _, p := range []string{"400 Bad request - ", "409 ", "404 ", "503 Service Unavailable - "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

// addProtectedRef stores r after the API's checks; problem is what the
// settings page says when it cannot.
func (s *Server) addProtectedRef(c *req, r *ci.ProtectedRef) (problem string, err error) {
	all, err := s.Store.ListProtectedRefs(c.r.Context(), c.proj.ID)
	if err != nil {
		return "", err
	}
	if len(all) >= ci.MaxProtectedRefs {
		return fmt.Sprintf("The project already has %d protected branches and tags, the limit.", len(all)), nil
	}
	if err := s.Store.CreateProtectedRef(c.r.Context(), r); err != nil {
		if ci.IsConflict(err) {
			what := "Branch "
			if r.Tag {
				what = "Tag "
			}
			return what + r.Name + " is protected already.", nil
		}
		return "", err
	}
	return "", nil
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
	valid := ci.ValidProtectedRefName(name) && err1 == nil && err2 == nil &&
		ci.ValidProtectLevel(r.PushLevel) && ci.ValidProtectLevel(r.MergeLevel)
	return s.protect(c, r, valid, "A protected branch needs a valid name or wildcard (release/*) and access levels.", "")
}

// protect saves rule r from the settings page's forms, or shows the page
// again with invalid (when not valid) or the store's objection; anchor is
// where the saved page scrolls to.
func (s *Server) protect(c *req, r *ci.ProtectedRef, valid bool, invalid, anchor string) error {
	if !valid {
		return s.settingsPage(c, invalid, nil)
	}
	problem, err := s.addProtectedRef(c, r)
	if err != nil {
		return err
	}
	if problem != "" {
		return s.settingsPage(c, problem, nil)
	}
	http.Redirect(c.w, c.r, "/"+c.proj.FullPath+"/-/settings?saved=1"+anchor, http.StatusSeeOther)
	return nil
}

// protectTag adds a protected tag rule (a name or wildcard and who may
// create matching tags) from the settings page.
func (s *Server) protectTag(c *req) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	f := c.r.PostForm
	name := strings.TrimSpace(f.Get("name"))
	create, err := strconv.Atoi(f.Get("create_access_level"))
	r := &ci.ProtectedRef{ProjectID: c.proj.ID, Tag: true, Name: name, CreateLevel: ci.AccessLevel(create)}
	valid := ci.ValidProtectedRefName(name) && err == nil && ci.ValidProtectLevel(r.CreateLevel)
	return s.protect(c, r, valid, "A protected tag needs a valid name or wildcard (v*) and an access level.", "#protected-tags")
}

// unprotectBranch removes the protected branch rule the form names.
func (s *Server) unprotectBranch(c *req) error { return s.unprotect(c, false) }

// unprotectTag removes the protected tag rule the form names.
func (s *Server) unprotectTag(c *req) error { return s.unprotect(c, true) }

func (s *Server) unprotect(c *req, tag bool) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	rules, err := s.Store.ListProtectedRefs(c.r.Context(), c.proj.ID)
	if err != nil {
		return err
	}
	name := c.r.PostForm.Get("name")
	for _, r := range rules {
		if r.Tag == tag && r.Name == name {
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
}{
	{ci.AccessMaintainer, ci.ProtectLevelName(ci.AccessMaintainer)}, {ci.AccessDeveloper, ci.ProtectLevelName(ci.AccessDeveloper)},
	{ci.AccessNone, ci.ProtectLevelName(ci.AccessNone)}, {ci.AccessAdmin, ci.ProtectLevelName(ci.AccessAdmin)},
}

// protectedRefs are the settings page's protected branch and tag rules.
func (s *Server) protectedRefs(c *req) (branches, tags []*ci.ProtectedRef, err error) {
	all, err := s.Store.ListProtectedRefs(c.r.Context(), c.proj.ID)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range all {
		if r.Tag {
			tags = append(tags, r)
		} else {
			branches = append(branches, r)
		}
	}
	return branches, tags, nil
}

func levelName(l ci.AccessLevel) string {
	if n := ci.ProtectLevelName(l); n != "" {
		return n
	}
	return strconv.Itoa(int(l))
}
