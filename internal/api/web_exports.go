package api

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/batonci/baton/internal/archive"
	"github.com/batonci/baton/internal/ci"
)

// This file exports the artifact machinery the web UI (internal/web) reuses,
// so that both surfaces choose and serve artifacts the same way.

// ArtifactChoice is the job whose archive a request asked for, with that
// archive and its pipeline.
type ArtifactChoice struct {
	Job      *ci.Job
	Archive  *ci.Artifact
	Pipeline *ci.Pipeline // nil when chosen by job id
}

func exportChoice(c *chosen, err error) (*ArtifactChoice, error) {
	if err != nil {
		return nil, err
	}
	return &ArtifactChoice{Job: c.job, Archive: c.archive, Pipeline: c.pipeline}, nil
}

// ArtifactInPipeline chooses, among the jobs named name in pl (original and
// retries), the most recent attempt with an unexpired archive. No such job is
// KindNotFound, a job without archive KindNotFound naming its status.
func (s *Server) ArtifactInPipeline(ctx context.Context, pl *ci.Pipeline, name string) (*ArtifactChoice, error) {
	return exportChoice(s.inPipeline(ctx, pl, name))
}

// ArtifactInCommit chooses like the commit-scoped API route (sha: full or a
// unique prefix of at least 7; KindInvalid otherwise, KindNotFound if none).
func (s *Server) ArtifactInCommit(ctx context.Context, proj *ci.Project, sha, name string) (*ArtifactChoice, error) {
	return exportChoice(s.inCommit(ctx, proj, sha, name))
}

// ArtifactOnRef chooses as GitLab does for a ref: the job named name in the
// latest successful pipeline for ref. KindNotFound if there is none.
func (s *Server) ArtifactOnRef(ctx context.Context, proj *ci.Project, ref, name string) (*ArtifactChoice, error) {
	return exportChoice(s.onRef(ctx, proj, ref, name, false))
}

// ArtifactOfJob returns job j's unexpired archive, KindNotFound if it has none.
func (s *Server) ArtifactOfJob(ctx context.Context, j *ci.Job) (*ArtifactChoice, error) {
	return exportChoice(s.byJob(ctx, j))
}

// ServeArtifactArchive answers with a whole archive exactly as the API does
// (ETag, Range, HEAD, optional redirect to a signed URL).
func (s *Server) ServeArtifactArchive(w http.ResponseWriter, r *http.Request, a *ci.Artifact) error {
	return s.serveArchive(w, r, a)
}

// ServeArtifactEntry streams one file of an archive as the API's raw route
// does: active content types as text/plain, a sandboxing CSP, nosniff.
// inline serves it for display instead of as an attachment. An unsafe path
// is KindInvalid, a missing one KindNotFound.
func (s *Server) ServeArtifactEntry(w http.ResponseWriter, r *http.Request, a *ci.Artifact, path string, inline bool) error {
	return s.serveEntry(w, r, a, path, inline)
}

// OpenArtifactIndex opens the entry index of an archive; call done when
// finished with the Reader. An archive without index is KindNotFound.
func (s *Server) OpenArtifactIndex(r *http.Request, a *ci.Artifact) (x *archive.Reader, done func(), err error) {
	return s.openIndex(r, a)
}

// OpenArtifactEntry opens one entry of an archive for reading; closing the
// reader closes the underlying object.
func (s *Server) OpenArtifactEntry(ctx context.Context, a *ci.Artifact, e archive.Entry) (io.ReadCloser, error) {
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

// DeleteArtifactBytes removes an artifact's archive and index from the blob
// store, logging (not returning) failures; the row is the caller's.
func (s *Server) DeleteArtifactBytes(r *http.Request, a *ci.Artifact) {
	s.deleteArtifactBytes(r, a)
}
