package api

import (
	"context"
	"encoding/json"
	"net/url"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/releases"
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

func (s *Server) release(c *call, rel *ci.Release) releaseEntity {
	proj := c.proj
	e := releaseEntity{TagName: rel.TagName, Description: rel.Description, Name: rel.Name, CreatedAt: utc(&rel.CreatedAt),
		ReleasedAt: utc(&rel.ReleasedAt), UpcomingRelease: rel.ReleasedAt.After(time.Now()),
		CommitPath: "/" + proj.FullPath + "/-/commit/" + rel.SHA, TagPath: "/" + proj.FullPath + "/-/tags/" + url.PathEscape(rel.TagName),
		Evidences: []struct{}{}, Links: map[string]string{"self": s.releaseURL(proj, rel.TagName)}}
	e.Commit.ID, e.Commit.ShortID = rel.SHA, shortSHA(rel.SHA)
	if rel.AuthorID != 0 {
		e.Author = s.userFor(c, rel.AuthorID)
	}
	e.Assets.Sources, e.Assets.Links = []struct{}{}, []releaseLinkEntity{}
	for _, l := range rel.Links {
		e.Assets.Links = append(e.Assets.Links, s.releaseLink(proj, rel, l))
	}
	e.Assets.Count = len(e.Assets.Links)
	return e
}

// releaseOf resolves :tag_name (URL-encoded) within the call's project.
func (s *Server) releaseOf(c *call) (*ci.Release, error) {
	rel, err := s.Store.ReleaseByTag(c.ctx(), c.proj.ID, c.r.PathValue("tag_name"))
	if ci.IsNotFound(err) {
		return nil, ci.Errorf(ci.KindNotFound, "404 Release Not Found")
	}
	return rel, err
}

func (s *Server) listReleases(c *call) (answer, error) {
	return listed(c, func(pg ci.Page) ([]*ci.Release, int, error) {
		return s.Store.ListReleases(c.ctx(), c.proj.ID, pg)
	}, func(rel *ci.Release) releaseEntity { return s.release(c, rel) })
}

func (s *Server) getRelease(c *call, rel *ci.Release) (answer, error) {
	return ok(s.release(c, rel)), nil
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

// releasedAt checks rel as given and sets its released_at, if the request
// has one: what creating and editing a release share.
func releasedAt(q *httpx.Params, rel *ci.Release) error {
	if err := releases.ValidateRelease(rel); err != nil {
		return err
	}
	at, err := q.Time("released_at")
	if err != nil {
		return err
	}
	if at != nil {
		rel.ReleasedAt = *at
	}
	return nil
}

func (s *Server) createRelease(c *call) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	tag, err := q.Required("tag_name")
	if err != nil {
		return answer{}, err
	}
	rel := &ci.Release{ProjectID: c.proj.ID, TagName: tag, Name: q.Get("name"), Description: q.Get("description"), AuthorID: c.p.UserID()}
	if rel.Name == "" {
		rel.Name = tag
	}
	if err := releasedAt(q, rel); err != nil {
		return answer{}, err
	}
	if raw, ok := q.JSON["assets"]; ok {
		var assets struct {
			Links []linkParams `json:"links"`
		}
		if err := json.Unmarshal(raw, &assets); err != nil {
			return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - assets is invalid")
		}
		for _, lp := range assets.Links {
			l := lp.link()
			if err := ci.ValidateLink(l); err != nil {
				return answer{}, err
			}
			rel.Links = append(rel.Links, l)
		}
	}
	if rel.SHA, err = s.Releases.Resolve(c.ctx(), c.proj.ID, tag, q.Get("ref")); err != nil {
		return answer{}, err
	}
	if err := s.Store.CreateRelease(c.ctx(), rel, s.Releases.MaxLinksPerRelease()); err != nil {
		if ci.IsConflict(err) {
			return answer{}, ci.Errorf(ci.KindConflict, "409 Release already exists")
		}
		return answer{}, err
	}
	return created(s.release(c, rel)), nil
}

func (s *Server) editRelease(c *call, rel *ci.Release) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	if q.Given("name") {
		rel.Name = q.Get("name")
	}
	if q.Given("description") {
		rel.Description = q.Get("description")
	}
	if err := releasedAt(q, rel); err != nil {
		return answer{}, err
	}
	if err := s.Store.UpdateRelease(c.ctx(), rel); err != nil {
		return answer{}, err
	}
	return ok(s.release(c, rel)), nil
}

func (s *Server) deleteRelease(c *call, rel *ci.Release) (answer, error) {
	if err := s.Store.DeleteRelease(c.ctx(), c.proj.ID, rel.TagName); err != nil {
		return answer{}, err
	}
	return ok(s.release(c, rel)), nil
}

func (s *Server) listReleaseLinks(c *call, rel *ci.Release) (answer, error) {
	out := make([]releaseLinkEntity, 0, len(rel.Links))
	for _, l := range rel.Links {
		out = append(out, s.releaseLink(c.proj, rel, l))
	}
	return ok(out), nil
}

// releaseLinkOf is a link of a release, as a route's resource.
type releaseLinkOf struct {
	rel *ci.Release
	l   *ci.ReleaseLink
}

// releaseLinkOf resolves :tag_name and :link_id within the call's project.
func (s *Server) releaseLinkOf(c *call) (releaseLinkOf, error) {
	rel, err := s.releaseOf(c)
	if err != nil {
		return releaseLinkOf{}, err
	}
	id, err := pathID(c.r, "link_id")
	if err != nil {
		return releaseLinkOf{}, err
	}
	for _, l := range rel.Links {
		if l.ID == id {
			return releaseLinkOf{rel, l}, nil
		}
	}
	return releaseLinkOf{}, ci.Errorf(ci.KindNotFound, "404 Link Not Found")
}

func (s *Server) getReleaseLink(c *call, x releaseLinkOf) (answer, error) {
	return ok(s.releaseLink(c.proj, x.rel, x.l)), nil
}

// linkConflict is the answer to a link whose url or name another link of
// the release has.
func linkConflict(err error) error {
	if ci.IsConflict(err) {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - url or name has already been taken")
	}
	return err
}

func (s *Server) createReleaseLink(c *call, rel *ci.Release) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	l := linkParams{Name: q.Get("name"), URL: q.Get("url"), LinkType: q.Get("link_type"), Filepath: q.Get("filepath"),
		DirectAssetPath: q.Get("direct_asset_path")}.link()
	l.ReleaseID = rel.ID
	if err := ci.ValidateLink(l); err != nil {
		return answer{}, err
	}
	if err := s.Store.CreateReleaseLink(c.ctx(), l, s.Releases.MaxLinksPerRelease()); err != nil {
		return answer{}, linkConflict(err)
	}
	return created(s.releaseLink(c.proj, rel, l)), nil
}

func (s *Server) editReleaseLink(c *call, x releaseLinkOf) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	l := x.l
	// In order: direct_asset_path, GitLab's newer name, wins over filepath
	// as on create.
	for _, f := range []struct {
		key string
		dst *string
	}{{"name", &l.Name}, {"url", &l.URL}, {"link_type", &l.LinkType}, {"filepath", &l.Filepath}, {"direct_asset_path", &l.Filepath}} {
		if q.Given(f.key) {
			*f.dst = q.Get(f.key)
		}
	}
	if err := ci.ValidateLink(l); err != nil {
		return answer{}, err
	}
	if err := s.Store.UpdateReleaseLink(c.ctx(), l); err != nil {
		return answer{}, linkConflict(err)
	}
	return ok(s.releaseLink(c.proj, x.rel, l)), nil
}

func (s *Server) deleteReleaseLink(c *call, x releaseLinkOf) (answer, error) {
	if err := s.Store.DeleteReleaseLink(c.ctx(), x.rel.ID, x.l.ID); err != nil {
		return answer{}, err
	}
	return ok(s.releaseLink(c.proj, x.rel, x.l)), nil
}
