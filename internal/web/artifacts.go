package web

import (
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/batonci/baton/internal/archive"
	"github.com/batonci/baton/internal/artifacts"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
)

// publishedName is the ?artifact= of a download route: a published
// artifact's name, or "" for the job's archive.
func publishedName(c *req) (string, error) {
	q := c.r.URL.Query()
	if !q.Has("artifact") {
		return "", nil
	}
	return q.Get("artifact"), ci.CheckArtifactName(q.Get("artifact"))
}

func (s *Server) jobArtifact(c *req, j *ci.Job) (*artifacts.Choice, error) {
	name, err := publishedName(c)
	if err != nil {
		return nil, err
	}
	return s.Artifacts.OfJob(c.r.Context(), j, name)
}

// jobArchive is GitLab's /-/jobs/:id/artifacts/download.
func (s *Server) jobArchive(c *req, j *ci.Job) error {
	ch, err := s.jobArtifact(c, j)
	if err != nil {
		return err
	}
	return s.Artifacts.ServeArchive(c.w, c.r, ch.Archive)
}

// jobRaw is GitLab's /-/jobs/:id/artifacts/raw/*path: one file, shown inline
// but sandboxed (the API's headers: active types as text/plain, CSP sandbox, nosniff).
func (s *Server) jobRaw(c *req, j *ci.Job, p string) error {
	ch, err := s.jobArtifact(c, j)
	if err != nil {
		return err
	}
	return s.Artifacts.ServeEntry(c.w, c.r, ch.Archive, p, true)
}

// refArtifact is GitLab's /-/jobs/artifacts/:ref/{download,raw/*path}?job=NAME.
func (s *Server) refArtifact(c *req, rest string) error {
	var ref, file string
	download := false
	if i := strings.Index(rest, "/raw/"); i > 0 {
		ref, file = rest[:i], rest[i+len("/raw/"):]
	} else if r, ok := strings.CutSuffix(rest, "/download"); ok && r != "" {
		ref, download = r, true
	} else {
		return notFound()
	}
	name := c.r.URL.Query().Get("job")
	if name == "" {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - job is missing: name the job, e.g. ?job=build")
	}
	art, err := publishedName(c)
	if err != nil {
		return err
	}
	ch, err := s.Artifacts.OnRef(c.r.Context(), c.proj, ref, name, art, false)
	if err != nil {
		return err
	}
	if download {
		return s.Artifacts.ServeArchive(c.w, c.r, ch.Archive)
	}
	return s.Artifacts.ServeEntry(c.w, c.r, ch.Archive, file, true)
}

// pipelineArtifact is Baton's /-/pipelines/:pid/artifacts/{download,raw/*path}?job=NAME.
func (s *Server) pipelineArtifact(c *req, pl *ci.Pipeline, file string) error {
	name := c.r.URL.Query().Get("job")
	if name == "" {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - job is missing: name the job, e.g. ?job=build")
	}
	art, err := publishedName(c)
	if err != nil {
		return err
	}
	ch, err := s.Artifacts.InPipeline(c.r.Context(), pl, name, art)
	if err != nil {
		return err
	}
	if file == "" {
		return s.Artifacts.ServeArchive(c.w, c.r, ch.Archive)
	}
	return s.Artifacts.ServeEntry(c.w, c.r, ch.Archive, file, true)
}

// crumb is one step of the artifact browser's breadcrumb.
type crumb struct{ Name, URL string }

// browseRow is one entry of a directory listing.
type browseRow struct {
	Name, URL, RawURL string
	Dir               bool
	Size              int64
}

const browsePerPage = 500

// browsePage lists one directory of a job's archive from its index (the
// archive itself is not read).
func (s *Server) browsePage(c *req, j *ci.Job, dir string) error {
	ch, err := s.jobArtifact(c, j)
	if err != nil {
		return err
	}
	dir, err = archive.CleanPath(dir)
	if err != nil {
		return err
	}
	x, done, err := s.Artifacts.OpenIndex(c.r.Context(), ch.Archive)
	if err != nil {
		return err
	}
	defer done()
	page := pageParam(c.r)
	entries, total, err := x.List(dir, false, ci.Page{Page: page, PerPage: browsePerPage})
	if err != nil {
		return err
	}
	base := "/" + c.proj.FullPath + "/-/jobs/" + strconv.FormatInt(j.ID, 10) + "/artifacts"
	rows := make([]browseRow, 0, len(entries))
	for _, e := range entries {
		p := strings.TrimSuffix(e.Path, "/")
		if e.IsDir() {
			rows = append(rows, browseRow{Name: e.Name(), Dir: true, URL: base + "/browse/" + escapePath(p)})
		} else {
			rows = append(rows, browseRow{Name: e.Name(), Size: e.Size, URL: base + "/file/" + escapePath(p), RawURL: base + "/raw/" + escapePath(p)})
		}
	}
	return s.render(c, http.StatusOK, "browse", "Artifacts of "+j.Name, map[string]any{
		"Job": j, "Artifact": ch.Archive, "Dir": dir, "Crumbs": crumbs(base, dir, false), "Rows": rows,
		"Pager": newPager(c.r, page, browsePerPage, total), "Base": base,
		"CanKeep": s.can(c, policy.KeepArtifacts), "CanDelete": s.can(c, policy.DeleteArtifacts),
	})
}

func crumbs(base, p string, file bool) []crumb {
	out := []crumb{{Name: "artifacts", URL: base + "/browse"}}
	if p == "" {
		return out
	}
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		u := base + "/browse/" + escapePath(strings.Join(segs[:i+1], "/"))
		if file && i == len(segs)-1 {
			u = ""
		}
		out = append(out, crumb{Name: seg, URL: u})
	}
	return out
}

// maxPreview is how much of a text file the preview page shows.
const maxPreview = 256 << 10

var imageTypes = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".webp": true, ".bmp": true, ".ico": true, ".avif": true}

// previewPage shows one file: text escaped inside the page, images through
// an <img> of the sandboxed raw URL, anything else as a download link.
func (s *Server) previewPage(c *req, j *ci.Job, p string) error {
	ch, err := s.jobArtifact(c, j)
	if err != nil {
		return err
	}
	p, err = archive.CleanPath(p)
	if err != nil {
		return err
	}
	x, done, err := s.Artifacts.OpenIndex(c.r.Context(), ch.Archive)
	if err != nil {
		return err
	}
	defer done()
	e, err := x.Lookup(p)
	if err != nil {
		return err
	}
	base := "/" + c.proj.FullPath + "/-/jobs/" + strconv.FormatInt(j.ID, 10) + "/artifacts"
	data := map[string]any{"Job": j, "Artifact": ch.Archive, "Path": p, "Name": e.Name(), "Size": e.Size,
		"Crumbs": crumbs(base, p, true), "RawURL": base + "/raw/" + escapePath(p), "Base": base}
	if imageTypes[strings.ToLower(path.Ext(p))] {
		data["Image"] = true
	} else {
		rc, err := s.Artifacts.OpenEntry(c.r.Context(), ch.Archive, e)
		if err != nil {
			return err
		}
		defer rc.Close()
		buf, err := io.ReadAll(io.LimitReader(rc, maxPreview))
		if err != nil {
			return err
		}
		if isText(buf) {
			data["Text"] = string(buf)
			data["Cut"] = e.Size > maxPreview
		}
	}
	return s.render(c, http.StatusOK, "preview", e.Name()+" · artifacts of "+j.Name, data)
}

// isText reports whether b looks like UTF-8 text (a cut final rune allowed).
func isText(b []byte) bool {
	if strings.IndexByte(string(b), 0) >= 0 {
		return false
	}
	for i := 0; i < 3 && len(b) > 0 && !utf8.Valid(b); i++ {
		b = b[:len(b)-1]
	}
	return utf8.Valid(b)
}

// artifactAction is POST .../jobs/:id/artifacts/{keep,delete}; the route
// table asks the policy (KeepArtifacts, DeleteArtifacts) as the API does.
func (s *Server) artifactAction(c *req, j *ci.Job, action string) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	ctx := c.r.Context()
	arts, err := s.Store.ArtifactsOfJobs(ctx, []int64{j.ID})
	if err != nil {
		return err
	}
	for _, a := range arts {
		switch {
		case action == "keep" && a.ExpireAt != nil:
			a.ExpireAt = nil
			if err := s.Store.UpdateArtifact(ctx, a); err != nil {
				return err
			}
		case action == "delete" && a.FileType != ci.FileTypeTrace:
			if err := s.Store.DeleteArtifact(ctx, a.ID); err != nil && !ci.IsNotFound(err) {
				return err
			}
			s.Artifacts.DeleteBytes(ctx, a)
		}
	}
	to := "/" + c.proj.FullPath + "/-/jobs/" + strconv.FormatInt(j.ID, 10)
	if action == "keep" {
		to += "/artifacts/browse"
	}
	http.Redirect(c.w, c.r, to, http.StatusSeeOther)
	return nil
}
