// Package artifacts chooses and serves job artifact archives for every HTTP
// surface (the REST API, the web UI and the runner API): which archive a
// pipeline, commit, ref or job scope means, waiting for one to appear, and
// answering with the whole archive (Range, ETag, HEAD, or a redirect to a
// signed URL), one file of it, or a directory listing. Authorization stays
// with the surfaces: they decide who may read, this package what is read.
package artifacts

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/batonci/baton/internal/archive"
	"github.com/batonci/baton/internal/blob"
	"github.com/batonci/baton/internal/ci"
)

// Store is what choosing an archive reads.
type Store interface {
	ListPipelines(ctx context.Context, f ci.PipelineFilter) ([]*ci.Pipeline, int, error)
	ListJobs(ctx context.Context, f ci.JobFilter) ([]*ci.Job, int, error)
	ArtifactsOfJobs(ctx context.Context, jobIDs []int64) ([]*ci.Artifact, error)
}

// Service chooses and serves archives. Store and Blobs are required.
type Service struct {
	Store Store
	Blobs blob.Store
	// Indexes caches opened entry indexes; nil means a small default.
	Indexes *archive.Cache
	// RedirectDownloads sends whole-archive downloads to short-lived signed
	// URLs when the blob store can sign them (S3), instead of proxying.
	RedirectDownloads bool
	// Waiters holds requests waiting for an archive (wait=SECONDS); nil
	// means a default Hub with the default limits, woken only by this
	// process's Notify calls.
	Waiters *Hub
	// TempDir is where a merged archive's central directory spills beyond
	// 1 MiB; "" is the system's temporary directory.
	TempDir string
	Logger  *slog.Logger
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

var defaultIndexes = sync.OnceValue(func() *archive.Cache { return archive.NewCache(64 << 20) })

func (s *Service) indexes() *archive.Cache {
	if s.Indexes != nil {
		return s.Indexes
	}
	return defaultIndexes()
}

var defaultHub = sync.OnceValue(func() *Hub { return NewHub(0, 0) })

func (s *Service) hub() *Hub {
	if s.Waiters != nil {
		return s.Waiters
	}
	return defaultHub()
}

// OpenIndex opens the entry index of an archive; call done when finished
// with the Reader. An archive without index is KindNotFound.
func (s *Service) OpenIndex(ctx context.Context, a *ci.Artifact) (x *archive.Reader, done func(), err error) {
	if a.IndexKey == "" {
		return nil, nil, ci.Errorf(ci.KindNotFound, "404 Artifacts metadata Not Found")
	}
	if x, ok := s.indexes().Cached(a.IndexKey); ok {
		return x, func() {}, nil
	}
	obj, err := s.Blobs.Open(ctx, a.IndexKey)
	if err != nil {
		return nil, nil, err
	}
	x, err = s.indexes().Open(a.IndexKey, obj, obj.Size())
	if err != nil {
		obj.Close()
		return nil, nil, err
	}
	return x, func() { obj.Close() }, nil
}

// OpenEntry opens one entry of an archive for reading; closing the reader
// closes the underlying object.
func (s *Service) OpenEntry(ctx context.Context, a *ci.Artifact, e archive.Entry) (io.ReadCloser, error) {
	obj, err := s.Blobs.Open(ctx, a.BlobKey)
	if err != nil {
		return nil, fmt.Errorf("opening artifact %d: %w", a.ID, err)
	}
	rc, err := archive.OpenEntry(obj, e)
	if err != nil {
		obj.Close()
		return nil, fmt.Errorf("opening artifact entry %s: %w", e.Path, err)
	}
	return &entryCloser{ReadCloser: rc, obj: obj}, nil
}

type entryCloser struct {
	io.ReadCloser
	obj io.Closer
}

func (c *entryCloser) Close() error {
	err := c.ReadCloser.Close()
	if cerr := c.obj.Close(); err == nil {
		err = cerr
	}
	return err
}

// Tree lists one directory of an archive (every level below it with
// recursive), one page, with the total number of entries.
func (s *Service) Tree(ctx context.Context, a *ci.Artifact, dir string, recursive bool, pg ci.Page) ([]archive.TreeEntry, int, error) {
	x, done, err := s.OpenIndex(ctx, a)
	if err != nil {
		return nil, 0, err
	}
	defer done()
	entries, total, err := x.List(dir, recursive, pg)
	if err != nil {
		return nil, 0, err
	}
	out := make([]archive.TreeEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Tree())
	}
	return out, total, nil
}

// DeleteBytes removes an artifact's archive and index from the blob store,
// logging (not returning) failures; the row is the caller's.
func (s *Service) DeleteBytes(ctx context.Context, a *ci.Artifact) {
	if s == nil || s.Blobs == nil {
		return
	}
	for _, k := range []string{a.BlobKey, a.IndexKey} {
		if k == "" {
			continue
		}
		if err := s.Blobs.Delete(ctx, k); err != nil {
			s.logger().Warn("deleting artifact bytes", "artifact_id", a.ID, "key", k, "err", err)
		}
	}
}

// Notify wakes the waits for archives of pipelineID and projectID, and of
// the pipelines above it in its project's downstream tree: call it once an
// archive row is committed and once a job finished.
func (s *Service) Notify(projectID, pipelineID int64) {
	s.hub().Notify(projectID, pipelineID)
	s.notifyUpstream(projectID, pipelineID)
}

// ReadArchiveFile reads the file at path in archive a, at most max bytes:
// KindNotFound if there is no such file, KindTooLarge if it is bigger.
// A generated child pipeline configuration is read this way.
func (s *Service) ReadArchiveFile(ctx context.Context, a *ci.Artifact, path string, max int64) ([]byte, error) {
	x, done, err := s.OpenIndex(ctx, a)
	if err != nil {
		return nil, err
	}
	defer done()
	e, err := x.Lookup(path)
	if err != nil {
		return nil, err
	}
	if e.Size > max {
		return nil, ci.Errorf(ci.KindTooLarge, "file '%s' is larger than %d bytes", path, max)
	}
	rc, err := s.OpenEntry(ctx, a, e)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading '%s' of artifact %d: %w", path, a.ID, err)
	}
	if int64(len(data)) > max {
		return nil, ci.Errorf(ci.KindTooLarge, "file '%s' is larger than %d bytes", path, max)
	}
	return data, nil
}
