package web

import (
	"net/http"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// maxReleaseRows bounds the page; the API pages through the rest.
const maxReleaseRows = 50

// releasesPage is /<project>/-/releases: the releases, newest first, with
// their asset links.
func (s *Server) releasesPage(c *req) error {
	rels, total, err := s.Store.ListReleases(c.r.Context(), c.proj.ID, ci.Page{Page: 1, PerPage: maxReleaseRows})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "releases", "Releases · "+c.proj.FullPath, map[string]any{
		"Releases": rels, "More": total - len(rels)})
}

// releaseDownload serves /<project>/-/releases/:tag/downloads/*filepath,
// GitLab's permanent link to a release asset: a redirect to the link
// whose filepath it is. The tag may contain slashes; the last
// "/downloads/" splits it from the file path.
func (s *Server) releaseDownload(c *req, rest string) error {
	i := strings.LastIndex(rest, "/downloads/")
	if i <= 0 {
		return notFound()
	}
	tag, fp := rest[:i], rest[i+len("/downloads"):]
	rel, err := s.Store.ReleaseByTag(c.r.Context(), c.proj.ID, tag)
	if ci.IsNotFound(err) {
		return notFound()
	}
	if err != nil {
		return err
	}
	for _, l := range rel.Links {
		if l.Filepath == fp {
			http.Redirect(c.w, c.r, l.URL, http.StatusFound)
			return nil
		}
	}
	return notFound()
}
