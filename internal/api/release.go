package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

// Releases resolves a release's commit and bounds its links
// (releases.Service).
type Releases interface {
	Resolve(ctx context.Context, projectID int64, tag, ref string) (string, error)
	MaxLinksPerRelease() int
}

type releaseLinkEntity struct {
	ID             int64  `json:"id"`
	Name           string `json:"name"`
	URL            string `json:"url"`
	DirectAssetURL string `json:"direct_asset_url"`
	LinkType       string `json:"link_type"`
}

type releaseEntity struct {
	TagName         string      `json:"tag_name"`
	Description     string      `json:"description"`
	Name            string      `json:"name"`
	CreatedAt       *time.Time  `json:"created_at"`
	ReleasedAt      *time.Time  `json:"released_at"`
	UpcomingRelease bool        `json:"upcoming_release"`
	Author          *userEntity `json:"author"`
	Commit          struct {
		ID      string `json:"id"`
		ShortID string `json:"short_id"`
	} `json:"commit"`
	CommitPath string `json:"commit_path"`
	TagPath    string `json:"tag_path"`
	Assets     struct {
		Count   int                 `json:"count"`
		Sources []struct{}          `json:"sources"`
		Links   []releaseLinkEntity `json:"links"`
	} `json:"assets"`
	Evidences []struct{}        `json:"evidences"`
	Links     map[string]string `json:"_links"`
}

func (s *Server) releaseURL(proj *ci.Project, tag string) string {
	return s.ExternalURL + "/" + proj.FullPath + "/-/releases/" + url.PathEscape(tag)
}

func (s *Server) releaseLink(proj *ci.Project, r *ci.Release, l *ci.ReleaseLink) releaseLinkEntity {
	direct := l.URL
	if l.Filepath != "" {
		direct = s.releaseURL(proj, r.TagName) + "/downloads" + l.Filepath
	}
	return releaseLinkEntity{ID: l.ID, Name: l.Name, URL: l.URL, DirectAssetURL: direct, LinkType: l.LinkType}
}

func (s *Server) release(r *http.Request, proj *ci.Project, rel *ci.Release) releaseEntity {
	e := releaseEntity{TagName: rel.TagName, Description: rel.Description, Name: rel.Name, CreatedAt: utc(&rel.CreatedAt),
		ReleasedAt: utc(&rel.ReleasedAt), UpcomingRelease: rel.ReleasedAt.After(time.Now()),
		CommitPath: "/" + proj.FullPath + "/-/commit/" + rel.SHA, TagPath: "/" + proj.FullPath + "/-/tags/" + url.PathEscape(rel.TagName),
		Evidences: []struct{}{}, Links: map[string]string{"self": s.releaseURL(proj, rel.TagName)}}
	e.Commit.ID, e.Commit.ShortID = rel.SHA, shortSHA(rel.SHA)
	if rel.AuthorID != 0 {
		if u, err := s.Store.UserByID(r.Context(), rel.AuthorID); err == nil {
			e.Author = s.user(s.viewer(r), u)
		}
	}
	e.Assets.Sources, e.Assets.Links = []struct{}{}, []releaseLinkEntity{}
	for _, l := range rel.Links {
		e.Assets.Links = append(e.Assets.Links, s.releaseLink(proj, rel, l))
	}
	e.Assets.Count = len(e.Assets.Links)
	return e
}

// releaseIn resolves :tag_name (URL-encoded) within proj.
func (s *Server) releaseIn(r *http.Request, proj *ci.Project) (*ci.Release, error) {
	rel, err := s.Store.ReleaseByTag(r.Context(), proj.ID, r.PathValue("tag_name"))
	if ci.IsNotFound(err) {
		return nil, ci.Errorf(ci.KindNotFound, "404 Release Not Found")
	}
	return rel, err
}

func (s *Server) listReleases(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
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
	rels, total, err := s.Store.ListReleases(r.Context(), proj.ID, pg)
	if err != nil {
		return err
	}
	out := make([]releaseEntity, 0, len(rels))
	for _, rel := range rels {
		out = append(out, s.release(r, proj, rel))
	}
	s.setPagination(w, r, pg, total)
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getRelease(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	rel, err := s.releaseIn(r, proj)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s.release(r, proj, rel))
	return nil
}

// linkParams is one asset link as the API takes it.
type linkParams struct {
	Name            string `json:"name"`
	URL             string `json:"url"`
	LinkType        string `json:"link_type"`
	Filepath        string `json:"filepath"`
	DirectAssetPath string `json:"direct_asset_path"`
}

func (l linkParams) link() *ci.ReleaseLink {
	fp := l.DirectAssetPath
	if fp == "" {
		fp = l.Filepath
	}
	return &ci.ReleaseLink{Name: l.Name, URL: l.URL, LinkType: l.LinkType, Filepath: fp}
}

func (s *Server) createRelease(w http.ResponseWriter, r *http.Request) error {
	proj, p, err := s.projectFor(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	tag, err := q.Required("tag_name")
	if err != nil {
		return err
	}
	rel := &ci.Release{ProjectID: proj.ID, TagName: tag, Name: q.Get("name"), Description: q.Get("description"), AuthorID: p.UserID()}
	if rel.Name == "" {
		rel.Name = tag
	}
	if err := validRelease(rel); err != nil {
		return err
	}
	at, err := q.Time("released_at")
	if err != nil {
		return err
	}
	if at != nil {
		rel.ReleasedAt = *at
	}
	if raw, ok := q.JSON["assets"]; ok {
		var assets struct {
			Links []linkParams `json:"links"`
		}
		if err := json.Unmarshal(raw, &assets); err != nil {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - assets is invalid")
		}
		for _, lp := range assets.Links {
			l := lp.link()
			if err := ci.ValidateLink(l); err != nil {
				return err
			}
			rel.Links = append(rel.Links, l)
		}
	}
	if rel.SHA, err = s.Releases.Resolve(r.Context(), proj.ID, tag, q.Get("ref")); err != nil {
		return err
	}
	if err := s.Store.CreateRelease(r.Context(), rel, s.Releases.MaxLinksPerRelease()); err != nil {
		if ci.IsConflict(err) {
			return ci.Errorf(ci.KindConflict, "409 Release already exists")
		}
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, s.release(r, proj, rel))
	return nil
}

// validRelease checks the tag name and name as releases.ValidateRelease.
func validRelease(rel *ci.Release) error {
	switch {
	case len(rel.TagName) > ci.MaxReleaseName || strings.ContainsAny(rel.TagName, " \n\r\t~^:?*[\\") || strings.Contains(rel.TagName, ".."):
		return ci.Errorf(ci.KindInvalid, "400 Bad request - tag_name is not a valid tag name")
	case len(rel.Name) > ci.MaxReleaseName || strings.ContainsAny(rel.Name, "\n\r"):
		return ci.Errorf(ci.KindInvalid, "400 Bad request - name is too long (maximum is %d characters)", ci.MaxReleaseName)
	}
	return nil
}

func (s *Server) editRelease(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	rel, err := s.releaseIn(r, proj)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	if q.Given("name") {
		rel.Name = q.Get("name")
	}
	if q.Given("description") {
		rel.Description = q.Get("description")
	}
	if err := validRelease(rel); err != nil {
		return err
	}
	at, err := q.Time("released_at")
	if err != nil {
		return err
	}
	if at != nil {
		rel.ReleasedAt = *at
	}
	if err := s.Store.UpdateRelease(r.Context(), rel); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s.release(r, proj, rel))
	return nil
}

func (s *Server) deleteRelease(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	rel, err := s.releaseIn(r, proj)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteRelease(r.Context(), proj.ID, rel.TagName); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s.release(r, proj, rel))
	return nil
}

func (s *Server) listReleaseLinks(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	rel, err := s.releaseIn(r, proj)
	if err != nil {
		return err
	}
	out := make([]releaseLinkEntity, 0, len(rel.Links))
	for _, l := range rel.Links {
		out = append(out, s.releaseLink(proj, rel, l))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// releaseLinkIn resolves :tag_name and :link_id within proj.
func (s *Server) releaseLinkIn(r *http.Request, proj *ci.Project) (*ci.Release, *ci.ReleaseLink, error) {
	rel, err := s.releaseIn(r, proj)
	if err != nil {
		return nil, nil, err
	}
	id, err := pathID(r, "link_id")
	if err != nil {
		return nil, nil, err
	}
	for _, l := range rel.Links {
		if l.ID == id {
			return rel, l, nil
		}
	}
	return nil, nil, ci.Errorf(ci.KindNotFound, "404 Link Not Found")
}

func (s *Server) getReleaseLink(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	rel, l, err := s.releaseLinkIn(r, proj)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s.releaseLink(proj, rel, l))
	return nil
}

func (s *Server) createReleaseLink(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	rel, err := s.releaseIn(r, proj)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	l := linkParams{Name: q.Get("name"), URL: q.Get("url"), LinkType: q.Get("link_type"), Filepath: q.Get("filepath"),
		DirectAssetPath: q.Get("direct_asset_path")}.link()
	l.ReleaseID = rel.ID
	if err := ci.ValidateLink(l); err != nil {
		return err
	}
	if err := s.Store.CreateReleaseLink(r.Context(), l, s.Releases.MaxLinksPerRelease()); err != nil {
		if ci.IsConflict(err) {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - url or name has already been taken")
		}
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, s.releaseLink(proj, rel, l))
	return nil
}

func (s *Server) editReleaseLink(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	rel, l, err := s.releaseLinkIn(r, proj)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	for key, dst := range map[string]*string{"name": &l.Name, "url": &l.URL, "link_type": &l.LinkType, "filepath": &l.Filepath, "direct_asset_path": &l.Filepath} {
		if q.Given(key) {
			*dst = q.Get(key)
		}
	}
	if err := ci.ValidateLink(l); err != nil {
		return err
	}
	if err := s.Store.UpdateReleaseLink(r.Context(), l); err != nil {
		if ci.IsConflict(err) {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - url or name has already been taken")
		}
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s.releaseLink(proj, rel, l))
	return nil
}

func (s *Server) deleteReleaseLink(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	rel, l, err := s.releaseLinkIn(r, proj)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteReleaseLink(r.Context(), rel.ID, l.ID); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s.releaseLink(proj, rel, l))
	return nil
}
