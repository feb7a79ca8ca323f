// Package reaper deletes expired artifacts: first their bytes, then their
// rows, so a crash in between leaves a row the next pass finishes and never
// bytes nobody can see. Several replicas may reap at once: deleting is
// idempotent on both sides.
package reaper

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/batonci/baton/internal/blob"
	"github.com/batonci/baton/internal/ci"
)

// Store is what the reaper reads and deletes (store.DB).
type Store interface {
	ListExpiredArtifacts(ctx context.Context, now time.Time, limit int) ([]*ci.Artifact, error)
	DeleteArtifact(ctx context.Context, id int64) error
	PipelineByID(ctx context.Context, id int64) (*ci.Pipeline, error)
	ListPipelines(ctx context.Context, f ci.PipelineFilter) ([]*ci.Pipeline, int, error)
}

// Options configure a Reaper. Zero values take the defaults.
type Options struct {
	// KeepLatest spares the artifacts of the latest successful pipeline of
	// each ref, whatever their expiry (GitLab's "keep artifacts from most
	// recent successful jobs").
	KeepLatest bool
	Interval   time.Duration // between passes; default 1 minute
	Batch      int           // artifacts per query; default 500
	Logger     *slog.Logger  // default slog.Default()
	Now        func() time.Time
}

// Reaper removes expired artifacts in the background.
type Reaper struct {
	store Store
	blobs blob.Store
	opts  Options
}

// New returns a Reaper deleting from store and blobs.
func New(store Store, blobs blob.Store, opts Options) *Reaper {
	if opts.Interval <= 0 {
		opts.Interval = time.Minute
	}
	if opts.Batch <= 0 {
		opts.Batch = 500
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Now().UTC() }
	}
	return &Reaper{store: store, blobs: blobs, opts: opts}
}

// Run reaps every Interval until ctx ends.
func (r *Reaper) Run(ctx context.Context) error {
	t := time.NewTicker(r.opts.Interval)
	defer t.Stop()
	for {
		if _, err := r.Pass(ctx); err != nil && ctx.Err() == nil {
			r.opts.Logger.Error("reaping expired artifacts", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Pass deletes the artifacts expired now and returns how many it deleted.
func (r *Reaper) Pass(ctx context.Context) (int, error) {
	batch, now := r.opts.Batch, r.opts.Now()
	latest := map[int64]bool{} // pipeline id → is the latest successful of its ref
	spared := map[int64]bool{} // expired artifacts kept as the latest of their ref
	deleted := 0
	for {
		// Spared artifacts stay expired and come back first: ask for that
		// many more so the batch still reaches the others.
		limit := batch + len(spared)
		arts, err := r.store.ListExpiredArtifacts(ctx, now, limit)
		if err != nil {
			return deleted, fmt.Errorf("listing expired artifacts: %w", err)
		}
		progress := 0
		for _, a := range arts {
			if spared[a.ID] {
				continue
			}
			if r.opts.KeepLatest {
				keep, err := r.isLatest(ctx, a.PipelineID, latest)
				if err != nil {
					return deleted, err
				}
				if keep {
					spared[a.ID] = true
					progress++
					continue
				}
			}
			if err := r.delete(ctx, a); err != nil {
				return deleted, err
			}
			deleted++
			progress++
		}
		if len(arts) < limit || progress == 0 {
			return deleted, nil
		}
	}
}

func (r *Reaper) delete(ctx context.Context, a *ci.Artifact) error {
	for _, key := range []string{a.BlobKey, a.IndexKey} {
		if key == "" {
			continue
		}
		if err := r.blobs.Delete(ctx, key); err != nil {
			return fmt.Errorf("deleting bytes of artifact %d: %w", a.ID, err)
		}
	}
	if err := r.store.DeleteArtifact(ctx, a.ID); err != nil && !ci.IsNotFound(err) {
		return fmt.Errorf("deleting artifact %d: %w", a.ID, err)
	}
	r.opts.Logger.Debug("reaped expired artifact", "artifact_id", a.ID, "job_id", a.JobID, "bytes", a.Size)
	return nil
}

// isLatest reports whether a pipeline is the newest successful one of its ref.
func (r *Reaper) isLatest(ctx context.Context, pipelineID int64, memo map[int64]bool) (bool, error) {
	if v, ok := memo[pipelineID]; ok {
		return v, nil
	}
	pl, err := r.store.PipelineByID(ctx, pipelineID)
	if ci.IsNotFound(err) {
		memo[pipelineID] = false
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if pl.Status != ci.StatusSuccess {
		memo[pipelineID] = false
		return false, nil
	}
	newest, _, err := r.store.ListPipelines(ctx, ci.PipelineFilter{ProjectID: pl.ProjectID, Ref: pl.Ref,
		Statuses: []ci.Status{ci.StatusSuccess}, Page: ci.Page{Page: 1, PerPage: 1}})
	if err != nil {
		return false, err
	}
	memo[pipelineID] = len(newest) == 1 && newest[0].ID == pl.ID
	return memo[pipelineID], nil
}
