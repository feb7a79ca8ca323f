package api

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"

	"github.com/batonci/baton/internal/artifacts"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

// The repository read API (GitLab's shapes): branches, tags, commits,
// trees, files and comparisons, read through the real git binary by Code.
// Every route asks ReadCode (ReadCommitStatus for statuses); a project the
// caller cannot see answers 404 like a missing one.

type commitEntity struct {
	ID               string              `json:"id"`
	ShortID          string              `json:"short_id"`
	CreatedAt        *time.Time          `json:"created_at"`
	ParentIDs        []string            `json:"parent_ids"`
	Title            string              `json:"title"`
	Message          string              `json:"message"`
	AuthorName       string              `json:"author_name"`
	AuthorEmail      string              `json:"author_email"`
	AuthoredDate     *time.Time          `json:"authored_date"`
	CommitterName    string              `json:"committer_name"`
	CommitterEmail   string              `json:"committer_email"`
	CommittedDate    *time.Time          `json:"committed_date"`
	Trailers         map[string]string   `json:"trailers"`
	ExtendedTrailers map[string][]string `json:"extended_trailers"`
	WebURL           string              `json:"web_url,omitempty"`
}

func (s *Server) commit(proj *ci.Project, c *ci.GitCommit) commitEntity {
	authored, committed := c.AuthoredAt, c.CommittedAt
	parents := c.ParentSHAs
	if parents == nil {
		parents = []string{}
	}
	return commitEntity{ID: c.SHA, ShortID: shortSHA(c.SHA), CreatedAt: &committed, ParentIDs: parents, Title: c.Title,
		Message: c.Message, AuthorName: c.AuthorName, AuthorEmail: c.AuthorEmail, AuthoredDate: &authored,
		CommitterName: c.CommitterName, CommitterEmail: c.CommitterEmail, CommittedDate: &committed,
		Trailers: map[string]string{}, ExtendedTrailers: map[string][]string{},
		WebURL: s.ExternalURL + "/" + proj.FullPath + "/-/commit/" + c.SHA}
}

type commitStats struct {
	Additions int `json:"additions"`
	Deletions int `json:"deletions"`
	Total     int `json:"total"`
}

type commitDetail struct {
	commitEntity
	Stats        *commitStats   `json:"stats,omitempty"`
	Status       *string        `json:"status"`
	ProjectID    int64          `json:"project_id"`
	LastPipeline *pipelineBasic `json:"last_pipeline"`
}

type branchEntity struct {
	Name               string       `json:"name"`
	Commit             commitEntity `json:"commit"`
	Merged             bool         `json:"merged"`
	Protected          bool         `json:"protected"`
	DevelopersCanPush  bool         `json:"developers_can_push"`
	DevelopersCanMerge bool         `json:"developers_can_merge"`
	CanPush            bool         `json:"can_push"`
	Default            bool         `json:"default"`
	WebURL             string       `json:"web_url"`
}

type tagEntity struct {
	Name      string        `json:"name"`
	Message   string        `json:"message"`
	Target    string        `json:"target"`
	Commit    *commitEntity `json:"commit"`
	Release   any           `json:"release"`
	Protected bool          `json:"protected"`
	CreatedAt *time.Time    `json:"created_at"`
}

type treeEntity struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	Path string `json:"path"`
	Mode string `json:"mode"`
}

type diffEntity struct {
	OldPath     string `json:"old_path"`
	NewPath     string `json:"new_path"`
	AMode       string `json:"a_mode"`
	BMode       string `json:"b_mode"`
	Diff        string `json:"diff"`
	NewFile     bool   `json:"new_file"`
	RenamedFile bool   `json:"renamed_file"`
	DeletedFile bool   `json:"deleted_file"`
	TooLarge    bool   `json:"too_large"`
	Collapsed   bool   `json:"collapsed"`
}

type compareEntity struct {
	Commit         *commitEntity  `json:"commit"`
	Commits        []commitEntity `json:"commits"`
	Diffs          []diffEntity   `json:"diffs"`
	CompareTimeout bool           `json:"compare_timeout"`
	CompareSameRef bool           `json:"compare_same_ref"`
	WebURL         string         `json:"web_url"`
}

// onCode is onProject for the repository routes: Code must be wired.
func (s *Server) onCode(fn func(c *call) (answer, error)) handlerFunc {
	return s.onProject(func(c *call) (answer, error) {
		if s.Code == nil {
			return answer{}, errNoCode
		}
		return fn(c)
	})
}

var errNoCode = ci.Errorf(ci.KindUnavailable, "503 Service Unavailable: repository reads are not configured")

// codeFor is projectFor for the repository routes that write headers
// themselves: Code must be wired.
func (s *Server) codeFor(r *http.Request) (*ci.Project, error) {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return nil, err
	}
	if s.Code == nil {
		return nil, errNoCode
	}
	return proj, nil
}

// notFoundAs renames a KindNotFound from the repository as GitLab names
// what was missing ("404 Branch Not Found").
func notFoundAs(err error, what string) error {
	if ci.IsNotFound(err) {
		return ci.Errorf(ci.KindNotFound, "404 %s Not Found", what)
	}
	return err
}

func (s *Server) listBranches(c *call) (answer, error) {
	proj := c.proj
	q, pg, err := c.paged()
	if err != nil {
		return answer{}, err
	}
	if err := unsupported(q, "regex"); err != nil {
		return answer{}, err
	}
	bs, total, err := s.Code.ListBranches(c.ctx(), proj.ID, q.Get("search"), pg.Offset(), pg.PerPage)
	if ci.IsNotFound(err) {
		bs, total, err = nil, 0, nil // no repository yet: no branches
	}
	if err != nil {
		return answer{}, err
	}
	def, _ := s.Code.DefaultBranch(c.ctx(), proj.ID)
	out := make([]branchEntity, 0, len(bs))
	for _, b := range bs {
		out = append(out, s.branch(proj, b, def))
	}
	return page(pg, total, out), nil
}

func (s *Server) branch(proj *ci.Project, b ci.GitBranch, def string) branchEntity {
	e := branchEntity{Name: b.Name, Default: b.Name == def,
		WebURL: s.ExternalURL + "/" + proj.FullPath + "/-/tree/" + url.PathEscape(b.Name)}
	if b.Commit != nil {
		e.Commit = s.commit(proj, b.Commit)
	}
	return e
}

func (s *Server) getBranch(c *call) (answer, error) {
	proj := c.proj
	b, err := s.Code.Branch(c.ctx(), proj.ID, c.r.PathValue("branch"))
	if err != nil {
		return answer{}, notFoundAs(err, "Branch")
	}
	def, _ := s.Code.DefaultBranch(c.ctx(), proj.ID)
	return ok(s.branch(proj, *b, def)), nil
}

func (s *Server) tag(proj *ci.Project, t ci.GitTag) tagEntity {
	e := tagEntity{Name: t.Name, Message: t.Message, Target: t.Target}
	if t.Commit != nil {
		c := s.commit(proj, t.Commit)
		e.Commit = &c
	}
	return e
}

func (s *Server) listTags(c *call) (answer, error) {
	proj := c.proj
	q, pg, err := c.paged()
	if err != nil {
		return answer{}, err
	}
	// Tags come newest first (GitLab's default order_by=updated, sort=desc);
	// other orders are refused rather than ignored.
	if ob := q.Get("order_by"); ob != "" && ob != "updated" {
		return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - order_by %q is not supported (updated)", ob)
	}
	if so := q.Get("sort"); so != "" && so != "desc" {
		return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - sort %q is not supported (desc)", so)
	}
	ts, total, err := s.Code.ListTags(c.ctx(), proj.ID, q.Get("search"), pg.Offset(), pg.PerPage)
	if ci.IsNotFound(err) {
		ts, total, err = nil, 0, nil
	}
	if err != nil {
		return answer{}, err
	}
	out := make([]tagEntity, 0, len(ts))
	for _, t := range ts {
		out = append(out, s.tag(proj, t))
	}
	return page(pg, total, out), nil
}

func (s *Server) getTag(c *call) (answer, error) {
	proj := c.proj
	t, err := s.Code.Tag(c.ctx(), proj.ID, c.r.PathValue("tag_name"))
	if err != nil {
		return answer{}, notFoundAs(err, "Tag")
	}
	return ok(s.tag(proj, *t)), nil
}

// unsupported refuses parameters GitLab documents that Baton does not
// implement: answering as if they were not given would return other data
// than asked for.
func unsupported(q *httpx.Params, keys ...string) error {
	for _, k := range keys {
		if q.Given(k) {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - %s is not supported by Baton", k)
		}
	}
	return nil
}

func (s *Server) listCommits(c *call) (answer, error) {
	proj := c.proj
	q, pg, err := c.paged()
	if err != nil {
		return answer{}, err
	}
	if err := unsupported(q, "author", "first_parent", "trailers"); err != nil {
		return answer{}, err
	}
	if all, err := q.Bool("all", false); err != nil || all {
		return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - all=true is not supported by Baton")
	}
	if o := q.Get("order"); o != "" && o != "default" {
		return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - order %q is not supported by Baton (default)", o)
	}
	withStats, err := q.Bool("with_stats", false)
	if err != nil {
		return answer{}, err
	}
	lq := ci.LogQuery{Ref: q.Get("ref_name"), Path: q.Get("path"), Skip: pg.Offset(), Limit: pg.PerPage}
	if lq.Since, err = q.Time("since"); err != nil {
		return answer{}, err
	}
	if lq.Until, err = q.Time("until"); err != nil {
		return answer{}, err
	}
	cs, total, err := s.Code.Log(c.ctx(), proj.ID, lq)
	if err != nil {
		return answer{}, notFoundAs(err, "Commit")
	}
	out := make([]commitDetail, 0, len(cs))
	for _, gc := range cs {
		d := commitDetail{commitEntity: s.commit(proj, gc), ProjectID: proj.ID}
		if withStats {
			if d.Stats, err = s.stats(c.r, proj, gc.SHA); err != nil {
				return answer{}, err
			}
		}
		out = append(out, d)
	}
	if withStats {
		return page(pg, total, out), nil
	}
	basic := make([]commitEntity, len(out))
	for i := range out {
		basic[i] = out[i].commitEntity
	}
	return page(pg, total, basic), nil
}

func (s *Server) stats(r *http.Request, proj *ci.Project, sha string) (*commitStats, error) {
	st, err := s.Code.Stats(r.Context(), proj.ID, sha)
	if err != nil {
		return nil, err
	}
	return &commitStats{Additions: st.Additions, Deletions: st.Deletions, Total: st.Additions + st.Deletions}, nil
}

func (s *Server) getCommit(c *call) (answer, error) {
	proj := c.proj
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	withStats, err := q.Bool("stats", true)
	if err != nil {
		return answer{}, err
	}
	gc, err := s.Code.GitCommit(c.ctx(), proj.ID, c.r.PathValue("sha"))
	if err != nil {
		return answer{}, notFoundAs(err, "Commit")
	}
	d := commitDetail{commitEntity: s.commit(proj, gc), ProjectID: proj.ID}
	if withStats {
		if d.Stats, err = s.stats(c.r, proj, gc.SHA); err != nil {
			return answer{}, err
		}
	}
	pls, _, err := s.Store.ListPipelines(c.ctx(), ci.PipelineFilter{ProjectID: proj.ID, SHA: gc.SHA, Page: ci.Page{Page: 1, PerPage: 1}})
	if err != nil {
		return answer{}, err
	}
	if len(pls) > 0 {
		b := s.pipelineBasic(pls[0], proj)
		d.LastPipeline = &b
		st := string(pls[0].Status)
		d.Status = &st
	}
	return ok(d), nil
}

// ref is the ref parameter of tree and file reads, the default branch
// when absent.
func (s *Server) ref(r *http.Request, q *httpx.Params, proj *ci.Project, key string) string {
	if ref := q.Get(key); ref != "" {
		return ref
	}
	if def, err := s.Code.DefaultBranch(r.Context(), proj.ID); err == nil && def != "" {
		return def
	}
	return "HEAD"
}

func (s *Server) listTree(w http.ResponseWriter, r *http.Request) error {
	proj, err := s.codeFor(r)
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
	if pt := q.Get("pagination"); pt != "" && pt != "legacy" {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - pagination %q is not supported by Baton (legacy)", pt)
	}
	recursive, err := q.Bool("recursive", false)
	if err != nil {
		return err
	}
	tp, err := s.Code.Tree(r.Context(), proj.ID, s.ref(r, q, proj, "ref"), q.Get("path"), recursive, pg.Offset(), pg.PerPage)
	if err != nil {
		return notFoundAs(err, "Tree")
	}
	out := make([]treeEntity, 0, len(tp.Entries))
	for _, e := range tp.Entries {
		out = append(out, treeEntity(e))
	}
	if tp.Total >= 0 {
		s.setPagination(w, r, pg, tp.Total)
	} else {
		// Counting stopped at the listing bound: no totals, as GitLab
		// answers for very large lists.
		h := w.Header()
		h.Set("X-Page", strconv.Itoa(pg.Page))
		h.Set("X-Per-Page", strconv.Itoa(pg.PerPage))
		next := ""
		if len(out) == pg.PerPage {
			next = strconv.Itoa(pg.Page + 1)
		}
		h.Set("X-Next-Page", next)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

type fileEntity struct {
	FileName        string `json:"file_name"`
	FilePath        string `json:"file_path"`
	Size            int64  `json:"size"`
	Encoding        string `json:"encoding"`
	ContentSHA256   string `json:"content_sha256"`
	Ref             string `json:"ref"`
	BlobID          string `json:"blob_id"`
	CommitID        string `json:"commit_id"`
	LastCommitID    string `json:"last_commit_id"`
	ExecuteFilemode bool   `json:"execute_filemode"`
	Content         string `json:"content"`
}

// getFile is GET (and HEAD) /repository/files/:file_path?ref=: the file's
// metadata and base64 content, the metadata also as X-Gitlab-* headers.
func (s *Server) getFile(w http.ResponseWriter, r *http.Request) error {
	proj, err := s.codeFor(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	ref, err := q.Required("ref")
	if err != nil {
		return err
	}
	fp := r.PathValue("file_path")
	f, err := s.Code.File(r.Context(), proj.ID, ref, fp, r.Method != http.MethodHead)
	if err != nil {
		return notFoundAs(err, "File")
	}
	e := fileEntity{FileName: path.Base(f.Path), FilePath: f.Path, Size: f.Size, Encoding: "base64", Ref: ref,
		BlobID: f.BlobID, CommitID: f.CommitID, LastCommitID: f.LastCommitID, ExecuteFilemode: f.Mode == "100755"}
	if f.Content != nil {
		sum := sha256.Sum256(f.Content)
		e.ContentSHA256 = hex.EncodeToString(sum[:])
		e.Content = base64.StdEncoding.EncodeToString(f.Content)
	}
	h := w.Header()
	for k, v := range map[string]string{"X-Gitlab-File-Name": e.FileName, "X-Gitlab-File-Path": e.FilePath,
		"X-Gitlab-Size": strconv.FormatInt(e.Size, 10), "X-Gitlab-Encoding": e.Encoding, "X-Gitlab-Ref": ref,
		"X-Gitlab-Blob-Id": e.BlobID, "X-Gitlab-Commit-Id": e.CommitID, "X-Gitlab-Last-Commit-Id": e.LastCommitID,
		"X-Gitlab-Content-Sha256": e.ContentSHA256, "X-Gitlab-Execute-Filemode": strconv.FormatBool(e.ExecuteFilemode)} {
		if v != "" {
			h.Set(k, v)
		}
	}
	httpx.WriteJSON(w, http.StatusOK, e)
	return nil
}

// getRawFile is /repository/files/:file_path/raw?ref=: the bytes, typed
// by extension but never as something a browser would run on Baton's
// origin.
func (s *Server) getRawFile(w http.ResponseWriter, r *http.Request) error {
	proj, err := s.codeFor(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	f, err := s.Code.File(r.Context(), proj.ID, s.ref(r, q, proj, "ref"), r.PathValue("file_path"), true)
	if err != nil {
		return notFoundAs(err, "File")
	}
	h := w.Header()
	h.Set("Content-Type", artifacts.SafeContentType(f.Path))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Content-Length", strconv.Itoa(len(f.Content)))
	h.Set("X-Gitlab-Blob-Id", f.BlobID)
	h.Set("ETag", `"`+f.BlobID+`"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(f.Content)
	return nil
}

func (s *Server) compare(c *call) (answer, error) {
	proj := c.proj
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	from, err := q.Required("from")
	if err != nil {
		return answer{}, err
	}
	to, err := q.Required("to")
	if err != nil {
		return answer{}, err
	}
	if err := unsupported(q, "from_project_id"); err != nil {
		return answer{}, err
	}
	straight, err := q.Bool("straight", false)
	if err != nil {
		return answer{}, err
	}
	cmp, err := s.Code.Compare(c.ctx(), proj.ID, from, to, straight)
	if err != nil {
		return answer{}, notFoundAs(err, "Ref")
	}
	sep := "..."
	if straight {
		sep = ".."
	}
	e := compareEntity{Commits: make([]commitEntity, 0, len(cmp.Commits)), Diffs: make([]diffEntity, 0, len(cmp.Diffs)),
		CompareTimeout: cmp.Truncated, CompareSameRef: cmp.SameRef,
		WebURL: s.ExternalURL + "/" + proj.FullPath + "/-/compare/" + url.PathEscape(from) + sep + url.PathEscape(to)}
	for _, gc := range cmp.Commits {
		e.Commits = append(e.Commits, s.commit(proj, gc))
	}
	if cmp.Commit != nil {
		ce := s.commit(proj, cmp.Commit)
		e.Commit = &ce
	}
	for _, d := range cmp.Diffs {
		e.Diffs = append(e.Diffs, diffEntity{OldPath: d.OldPath, NewPath: d.NewPath, AMode: d.AMode, BMode: d.BMode, Diff: d.Diff,
			NewFile: d.NewFile, RenamedFile: d.RenamedFile, DeletedFile: d.DeletedFile, TooLarge: d.TooLarge, Collapsed: d.TooLarge})
	}
	return ok(e), nil
}
