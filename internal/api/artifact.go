package api

import (
	"context"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/batonci/baton/internal/artifacts"
	"github.com/batonci/baton/internal/artifacttoken"
	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

// artifactHandler is a route that resolves a chosen archive and serves it.
// The wait spec it gets names the scope (project, and pipeline when known
// beforehand); a chooser that learns the pipeline only from the path sets it.
type artifactHandler func(ctx context.Context, r *http.Request, proj *ci.Project, aq artifacts.Query, spec *artifacts.WaitSpec) (func(context.Context) (*artifacts.Choice, error), error)

// serveFunc answers with a chosen archive: whole, one file or a listing.
type serveFunc func(w http.ResponseWriter, r *http.Request, c *artifacts.Choice) error

// serveChosen wraps a chooser into the archive, raw and tree handlers. A
// wait holds the request until an upload or job finish in its scope wakes
// it; every wake-up authorizes the caller again.
func (s *Server) serveChosen(choose artifactHandler, needJob bool, serve serveFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		// Artifact links end up in other people's hands: never leak the
		// URL (a signed link's sig=) to where they lead.
		w.Header().Set("Referrer-Policy", "no-referrer")
		if secret := artifacttoken.Secret(r); secret != "" {
			return s.serveWithToken(w, r, secret, choose, needJob, serve)
		}
		proj, p, err := s.projectFor(r)
		if err != nil {
			return err
		}
		aq, err := artifacts.ReadQuery(r, needJob)
		if err != nil {
			return err
		}
		spec := artifacts.WaitSpec{For: aq.Wait, ProjectID: proj.ID, Clients: waitClients(r, p),
			Recheck: func(context.Context) error {
				_, _, err := s.projectFor(r)
				return err
			}}
		pick, err := choose(r.Context(), r, proj, aq, &spec)
		if err != nil {
			return err
		}
		if aq.Wait > 0 {
			httpx.Hold(w, aq.Wait)
		}
		c, err := s.Artifacts.Wait(r.Context(), spec, pick)
		if err != nil {
			return err
		}
		w.Header().Set("X-Baton-Job-Id", itoa(c.Job.ID))
		return serve(w, r, c)
	}
}

// waitClients are the keys a wait counts against --max-waiters-per-client:
// the caller's IP (X-Forwarded-For's client behind a --trusted-proxies
// peer), and the user or job behind its token.
func waitClients(r *http.Request, p *auth.Principal) []string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	out := []string{"ip:" + ip}
	switch {
	case p == nil:
	case p.Job != nil:
		out = append(out, "job:"+itoa(p.Job.ID))
	case p.User != nil:
		out = append(out, "user:"+itoa(p.User.ID))
	}
	return out
}

func (s *Server) archiveOfChosen(w http.ResponseWriter, r *http.Request, c *artifacts.Choice) error {
	if len(c.Shards) > 0 {
		return s.Artifacts.ServeMerged(w, r, c)
	}
	return s.Artifacts.ServeArchive(w, r, c.Archive)
}

func (s *Server) rawOfChosen(w http.ResponseWriter, r *http.Request, c *artifacts.Choice) error {
	if len(c.Shards) > 0 {
		return s.Artifacts.ServeMergedEntry(w, r, c, r.PathValue("path"))
	}
	return s.Artifacts.ServeEntry(w, r, c.Archive, r.PathValue("path"), false)
}

// manifestOfChosen lists every file of an archive with its size, mode and
// SHA-256.
func (s *Server) manifestOfChosen(w http.ResponseWriter, r *http.Request, c *artifacts.Choice) error {
	return s.Artifacts.ServeManifest(w, r, c)
}

// noMerge refuses merge= on a scope other than the pipeline's.
func noMerge(aq artifacts.Query) error {
	if aq.Merge != "" {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - merge=%s is supported on the pipeline routes only (/pipelines/:pipeline_id/artifacts?job=NAME&merge=%s)", aq.Merge, aq.Merge)
	}
	if aq.Child != "" {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - child= is supported on the pipeline routes only (/pipelines/:pipeline_id/artifacts?job=NAME&child=BRIDGE)")
	}
	return nil
}

// treeOfChosen lists a directory of an archive in GitLab's tree shape.
func (s *Server) treeOfChosen(w http.ResponseWriter, r *http.Request, c *artifacts.Choice) error {
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	pg, err := q.Page()
	if err != nil {
		return err
	}
	recursive, err := q.Bool("recursive", false)
	if err != nil {
		return err
	}
	out, total, err := s.Artifacts.ChoiceTree(r.Context(), c, q.Get("path"), recursive, pg)
	if err != nil {
		return err
	}
	s.setPagination(w, r, pg, total)
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// choosePipeline is Baton's pipeline scope: ?job=NAME in :pipeline_id.
func (s *Server) choosePipeline(ctx context.Context, r *http.Request, proj *ci.Project, aq artifacts.Query, spec *artifacts.WaitSpec) (func(context.Context) (*artifacts.Choice, error), error) {
	pl, err := s.pipelineIn(r, proj)
	if err != nil {
		return nil, err
	}
	spec.PipelineID = pl.ID
	if aq.Merge == artifacts.MergeParallel {
		if aq.Artifact != "" || aq.Child != "" {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - merge=parallel merges archives of the pipeline's own jobs; it takes no artifact or child")
		}
		return func(ctx context.Context) (*artifacts.Choice, error) {
			return s.Artifacts.ParallelInPipeline(ctx, pl, aq.Job)
		}, nil
	}
	return func(ctx context.Context) (*artifacts.Choice, error) {
		return s.Artifacts.InPipelineTree(ctx, pl, aq.Job, aq.Artifact, aq.Child)
	}, nil
}

// chooseCommit is Baton's commit scope: ?job=NAME at :sha.
func (s *Server) chooseCommit(ctx context.Context, r *http.Request, proj *ci.Project, aq artifacts.Query, _ *artifacts.WaitSpec) (func(context.Context) (*artifacts.Choice, error), error) {
	if err := noMerge(aq); err != nil {
		return nil, err
	}
	sha := r.PathValue("sha")
	return func(ctx context.Context) (*artifacts.Choice, error) {
		return s.Artifacts.InCommit(ctx, proj, sha, aq.Job, aq.Artifact)
	}, nil
}

// chooseJob is GitLab's job scope: :job_id.
func (s *Server) chooseJob(ctx context.Context, r *http.Request, proj *ci.Project, aq artifacts.Query, spec *artifacts.WaitSpec) (func(context.Context) (*artifacts.Choice, error), error) {
	if err := noMerge(aq); err != nil {
		return nil, err
	}
	id, err := pathID(r, "job_id")
	if err != nil {
		return nil, err
	}
	// The job and its archives in one query; choosing again after a wait
	// reads both again (the job's status decides whether waiting more helps).
	j, arts, err := s.Store.JobWithArtifacts(ctx, id)
	if ci.IsNotFound(err) || (err == nil && j.ProjectID != proj.ID) {
		return nil, ci.Errorf(ci.KindNotFound, "404 Job %d Not Found in project %s", id, proj.FullPath)
	}
	if err != nil {
		return nil, err
	}
	spec.PipelineID = j.PipelineID
	fresh := true
	return func(ctx context.Context) (*artifacts.Choice, error) {
		if !fresh {
			var err error
			if j, arts, err = s.Store.JobWithArtifacts(ctx, id); err != nil {
				return nil, err
			}
		}
		fresh = false
		return artifacts.OfJobRows(j, arts, aq.Artifact)
	}, nil
}

// jobSubroutes serves GET /projects/:id/jobs/:job_id/{rest...}: a job's
// archive, one file or tree, and GitLab's by-ref routes under
// /jobs/artifacts/:ref/{download,raw/*path}. One pattern serves both,
// because ServeMux cannot tell /jobs/:job_id/artifacts/x from
// /jobs/artifacts/:ref/x.
func (s *Server) jobSubroutes(w http.ResponseWriter, r *http.Request) error {
	jobID, rest := r.PathValue("job_id"), r.PathValue("rest")
	if jobID == "artifacts" {
		return s.refRoutes(w, r, rest)
	}
	switch {
	case rest == "artifacts":
		return s.serveChosen(s.chooseJob, false, s.archiveOfChosen)(w, r)
	case rest == "artifacts/tree":
		return s.serveChosen(s.chooseJob, false, s.treeOfChosen)(w, r)
	case rest == "artifacts/manifest":
		return s.serveChosen(s.chooseJob, false, s.manifestOfChosen)(w, r)
	case strings.HasPrefix(rest, "artifacts/"):
		r.SetPathValue("path", strings.TrimPrefix(rest, "artifacts/"))
		return s.serveChosen(s.chooseJob, false, s.rawOfChosen)(w, r)
	}
	return ci.Errorf(ci.KindNotFound, "404 Not Found")
}

// refRoutes serves /jobs/artifacts/:ref/download and /jobs/artifacts/:ref/raw/*path.
func (s *Server) refRoutes(w http.ResponseWriter, r *http.Request, rest string) error {
	var ref string
	var serve serveFunc
	if i := strings.Index(rest, "/raw/"); i > 0 {
		ref = rest[:i]
		r.SetPathValue("path", rest[i+len("/raw/"):])
		serve = s.rawOfChosen
	} else if strings.HasSuffix(rest, "/download") {
		ref = strings.TrimSuffix(rest, "/download")
		serve = s.archiveOfChosen
	} else {
		return ci.Errorf(ci.KindNotFound, "404 Not Found")
	}
	if ref == "" {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - ref_name is missing")
	}
	choose := func(ctx context.Context, r *http.Request, proj *ci.Project, aq artifacts.Query, _ *artifacts.WaitSpec) (func(context.Context) (*artifacts.Choice, error), error) {
		if err := noMerge(aq); err != nil {
			return nil, err
		}
		return func(ctx context.Context) (*artifacts.Choice, error) {
			return s.Artifacts.OnRef(ctx, proj, ref, aq.Job, aq.Artifact, aq.SearchRecent)
		}, nil
	}
	return s.serveChosen(choose, true, serve)(w, r)
}

// keepArtifacts is POST /projects/:id/jobs/:job_id/artifacts/keep: the
// job's artifacts no longer expire.
func (s *Server) keepArtifacts(w http.ResponseWriter, r *http.Request) error {
	proj, j, _, err := s.jobFor(r)
	if err != nil {
		return err
	}
	arts, err := s.Store.ArtifactsOfJobs(r.Context(), []int64{j.ID})
	if err != nil {
		return err
	}
	if artifacts.ArchiveOf(arts, j.ID) == nil {
		return ci.Errorf(ci.KindNotFound, "404 Job %d has no artifacts to keep", j.ID)
	}
	for _, a := range arts {
		if a.ExpireAt != nil {
			a.ExpireAt = nil
			if err := s.Store.UpdateArtifact(r.Context(), a); err != nil {
				return err
			}
		}
	}
	return s.writeJob(w, r, http.StatusOK, proj, j)
}

// deleteJobArtifacts is DELETE /projects/:id/jobs/:job_id/artifacts (maintainers).
func (s *Server) deleteJobArtifacts(w http.ResponseWriter, r *http.Request) error {
	_, j, _, err := s.jobFor(r)
	if err != nil {
		return err
	}
	arts, err := s.Store.ArtifactsOfJobs(r.Context(), []int64{j.ID})
	if err != nil {
		return err
	}
	for _, a := range arts {
		if a.FileType == ci.FileTypeTrace {
			continue
		}
		if err := s.Store.DeleteArtifact(r.Context(), a.ID); err != nil && !ci.IsNotFound(err) {
			return err
		}
		s.deleteArtifactBytes(r, a)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteProjectArtifacts is DELETE /projects/:id/artifacts: every artifact
// not kept expires now; the reaper removes the bytes.
func (s *Server) deleteProjectArtifacts(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	arts, err := s.Store.ArtifactsOfProject(r.Context(), proj.ID, 0)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	for _, a := range arts {
		if a.Locked || a.FileType == ci.FileTypeTrace {
			continue
		}
		a.ExpireAt = &now
		if err := s.Store.UpdateArtifact(r.Context(), a); err != nil {
			return err
		}
	}
	httpx.WriteJSON(w, http.StatusAccepted, map[string]string{"message": "202 Accepted"})
	return nil
}

var sha256Re = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// digestSource is one element of GET /projects/:id/artifacts/by_digest/:sha256:
// an archive holding a file with that digest, and where it came from.
type digestSource struct {
	Path       string          `json:"path"`
	ArtifactID int64           `json:"artifact_id"`
	CommitSHA  string          `json:"commit_sha"`
	Ref        string          `json:"ref"`
	PipelineID int64           `json:"pipeline_id"`
	Job        digestSourceJob `json:"job"`
	Runner     *digestRunner   `json:"runner"` // null when the job ran on no known runner
	CreatedAt  time.Time       `json:"created_at"`
}

type digestSourceJob struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type digestRunner struct {
	ID          int64  `json:"id"`
	Description string `json:"description"`
}

// artifactsByDigest is GET /projects/:id/artifacts/by_digest/:sha256: which
// jobs produced a file with this SHA-256 (provenance), newest archive
// first, paginated. Reading it is reading the project's artifacts.
func (s *Server) artifactsByDigest(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	sum := r.PathValue("sha256")
	if !sha256Re.MatchString(sum) {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - sha256 must be 64 hex characters")
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	pg, err := q.Page()
	if err != nil {
		return err
	}
	found, total, err := s.Store.FilesByDigest(r.Context(), proj.ID, strings.ToLower(sum), pg)
	if err != nil {
		return err
	}
	out := make([]digestSource, 0, len(found))
	for _, f := range found {
		d := digestSource{Path: f.Path, ArtifactID: f.ArtifactID, CommitSHA: f.CommitSHA, Ref: f.Ref, PipelineID: f.PipelineID,
			Job: digestSourceJob{ID: f.JobID, Name: f.JobName}, CreatedAt: f.CreatedAt.UTC()}
		if f.RunnerID != 0 {
			d.Runner = &digestRunner{ID: f.RunnerID, Description: f.RunnerDescription}
		}
		out = append(out, d)
	}
	s.setPagination(w, r, pg, total)
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}
