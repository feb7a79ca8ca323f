package artifacts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/archive"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

// Merge modes of the pipeline routes' merge parameter.
const MergeParallel = "parallel"

// maxShards bounds a parallel job's instances (GitLab allows 200).
const maxShards = 200

// conflictsNamed is how many differing paths a 409 names.
const conflictsNamed = 20

// ParallelInPipeline chooses, for each instance "name i/N" of the parallel
// job name in pipeline pl, the newest attempt with an archive, as
// InPipeline does for one job. The result's Shards are in instance order;
// its Job and Archive are the first shard's. No instance is KindNotFound;
// an instance without an archive (yet) is the same 404 InPipeline gives,
// naming it, and a wait holds until every instance has one.
func (s *Service) ParallelInPipeline(ctx context.Context, pl *ci.Pipeline, name string) (*Choice, error) {
	all, _, err := s.Store.ListJobs(ctx, ci.JobFilter{PipelineID: pl.ID, IncludeRetried: true, ScheduleOnly: true})
	if err != nil {
		return nil, err
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(name) + ` ([0-9]+)/([0-9]+)$`)
	total := 0
	byIndex := map[int][]*ci.Job{} // newest first, as listed
	var ids []int64
	for _, j := range all {
		m := re.FindStringSubmatch(j.Name)
		if m == nil {
			continue
		}
		i, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		if n < 1 || n > maxShards || i < 1 || i > n || total != 0 && n != total {
			continue
		}
		total = n
		byIndex[i] = append(byIndex[i], j)
		ids = append(ids, j.ID)
	}
	if total == 0 {
		return nil, ci.Errorf(ci.KindNotFound, "404 Job '%s' Not Found as a parallel job (%s 1/N ...) in pipeline %d", name, name, pl.ID)
	}
	arts, err := s.Store.ArtifactsOfJobs(ctx, ids)
	if err != nil {
		return nil, err
	}
	c := &Choice{Pipeline: pl}
	for i := 1; i <= total; i++ {
		jobs := byIndex[i]
		if len(jobs) == 0 {
			return nil, ci.Errorf(ci.KindNotFound, "404 Job '%s %d/%d' Not Found in pipeline %d", name, i, total, pl.ID)
		}
		var shard *Choice
		for _, j := range jobs {
			if a := ArchiveOf(arts, j.ID); a != nil {
				shard = &Choice{Job: j, Archive: a, Pipeline: pl}
				break
			}
		}
		if shard == nil {
			return nil, noArchiveYet(fmt.Sprintf("job '%s %d/%d' in pipeline %d", name, i, total, pl.ID), "", jobs[0])
		}
		c.Shards = append(c.Shards, shard)
	}
	c.Job, c.Archive = c.Shards[0].Job, c.Shards[0].Archive
	return c, nil
}

// openMerged opens the index of every shard of c and merges them; shards
// that differ (same path, other content) are KindConflict naming the paths.
func (s *Service) openMerged(ctx context.Context, c *Choice) (*archive.Merged, func(), error) {
	var dones []func()
	done := func() {
		for _, d := range dones {
			d()
		}
	}
	readers := make([]*archive.Reader, 0, len(c.Shards))
	for _, sh := range c.Shards {
		x, d, err := s.OpenIndex(ctx, sh.Archive)
		if err != nil {
			done()
			return nil, nil, err
		}
		dones = append(dones, d)
		readers = append(readers, x)
	}
	m := archive.Merge(readers...)
	paths, n, err := m.Conflicts(conflictsNamed)
	if err != nil {
		done()
		return nil, nil, err
	}
	if n > 0 {
		done()
		more := ""
		if n > len(paths) {
			more = fmt.Sprintf(" and %d more", n-len(paths))
		}
		return nil, nil, ci.Errorf(ci.KindConflict, "409 Conflict - the parallel jobs' artifacts differ at %s%s: they cannot be merged",
			quoteList(paths), more)
	}
	return m, done, nil
}

func quoteList(paths []string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = "'" + p + "'"
	}
	return strings.Join(q, ", ")
}

// ChoiceTree is Tree of c's archive, or MergedTree when c merges shards.
func (s *Service) ChoiceTree(ctx context.Context, c *Choice, dir string, recursive bool, pg ci.Page) ([]archive.TreeEntry, int, error) {
	if len(c.Shards) > 0 {
		return s.MergedTree(ctx, c, dir, recursive, pg)
	}
	return s.Tree(ctx, c.Archive, dir, recursive, pg)
}

// MergedTree is Tree over the union of c's shards.
func (s *Service) MergedTree(ctx context.Context, c *Choice, dir string, recursive bool, pg ci.Page) ([]archive.TreeEntry, int, error) {
	m, done, err := s.openMerged(ctx, c)
	if err != nil {
		return nil, 0, err
	}
	defer done()
	entries, total, err := m.List(dir, recursive, pg)
	if err != nil {
		return nil, 0, err
	}
	out := make([]archive.TreeEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Tree())
	}
	return out, total, nil
}

// ServeMergedEntry is ServeEntry over the union of c's shards: the file is
// read from the first shard holding it.
func (s *Service) ServeMergedEntry(w http.ResponseWriter, r *http.Request, c *Choice, rawPath string) error {
	m, done, err := s.openMerged(r.Context(), c)
	if err != nil {
		return err
	}
	defer done()
	p, err := archive.CleanPath(rawPath)
	if err != nil {
		return err
	}
	if p == "" {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - artifact path is missing")
	}
	shard, _, err := m.Lookup(p)
	if err != nil {
		return err
	}
	return s.ServeEntry(w, r, c.Shards[shard].Archive, p, false)
}

// ServeMerged streams the union of c's shards as one zip: each entry's
// compressed bytes copied from its shard, identical duplicates once. Its
// length is known beforehand (Content-Length, so that net/http may use
// sendfile); its ETag is derived from the shards' archives.
func (s *Service) ServeMerged(w http.ResponseWriter, r *http.Request, c *Choice) error {
	m, done, err := s.openMerged(r.Context(), c)
	if err != nil {
		return err
	}
	defer done()
	size, err := m.ZipSize()
	if err != nil {
		return err
	}
	sum := sha256.New()
	for _, sh := range c.Shards {
		fmt.Fprintf(sum, "%s\x00", sh.Archive.SHA256)
	}
	etag := `"merged-` + hex.EncodeToString(sum.Sum(nil)) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "artifacts.zip"}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-transform")
	ids := make([]string, len(c.Shards))
	for i, sh := range c.Shards {
		ids[i] = strconv.FormatInt(sh.Job.ID, 10)
	}
	h.Set("X-Baton-Merged-Job-Ids", strings.Join(ids, ","))
	if match := r.Header.Get("If-None-Match"); match != "" && (match == etag || match == "*" || strings.Contains(match, etag)) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	archives := make([]io.ReaderAt, len(c.Shards))
	for i, sh := range c.Shards {
		obj, err := s.Blobs.Open(r.Context(), sh.Archive.BlobKey)
		if ci.IsNotFound(err) {
			return ci.Errorf(ci.KindNotFound, "404 Artifacts file Not Found (the bytes of job %d's archive are gone)", sh.Job.ID)
		}
		if err != nil {
			return fmt.Errorf("opening artifact %d: %w", sh.Archive.ID, err)
		}
		defer obj.Close()
		archives[i] = obj
	}
	if s.TempDir != "" {
		if err := os.MkdirAll(s.TempDir, 0o700); err != nil {
			return fmt.Errorf("creating temporary directory: %w", err)
		}
	}
	httpx.ExtendWrite(w, size)
	w.WriteHeader(http.StatusOK)
	if _, err := m.WriteZip(w, archives, s.TempDir); err != nil {
		s.logger().Warn("streaming merged artifacts", "job_id", c.Job.ID, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}
