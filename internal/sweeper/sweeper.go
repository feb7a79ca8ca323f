// Package sweeper reclaims bytes nothing references: uploads a killed
// process never finished (temporary files, S3 multipart uploads) and stored
// artifact files or archive indexes that no artifact row points at (a crash
// between storing the bytes and committing the row, or between deleting a
// row and its bytes).
//
// # Why it never deletes a blob whose row is being committed
//
// An upload stores its bytes first (the archive, then its index) and only
// then commits the row, while its job is still running (runnerapi refuses
// uploads for finished jobs). A blob is deleted only when all of these hold
// at the moment the sweeper checks it:
//
//   - it was stored more than OlderThan ago (on S3 its LastModified is
//     when the multipart upload began, so this bounds the upload's duration
//     too, not only the gap between Put and the row);
//   - no artifact row of its job names it (as file or as index);
//   - its job is gone, or finished more than OlderThan ago.
//
// A row can appear after the check only for an upload that began while the
// job ran and is still going OlderThan after the job finished and after its
// first byte was stored: with the default of an hour, an upload cancelled
// with its job and still streaming an hour later. Keep OlderThan above the
// longest upload (and index build) you expect.
//
// Several replicas may sweep at once: listing and checking are read-only,
// and deleting or aborting something already gone is not an error.
package sweeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/batonci/baton/internal/blob"
	"github.com/batonci/baton/internal/ci"
)

// Store is what the sweeper reads: which rows reference a job's blobs, and
// whether the job still exists and when it finished.
type Store interface {
	ArtifactsOfJobs(ctx context.Context, jobIDs []int64) ([]*ci.Artifact, error)
	JobByID(ctx context.Context, id int64) (*ci.Job, error)
}

// DefaultOlderThan is how old an unreferenced blob or an unfinished upload
// must be before it is removed.
const DefaultOlderThan = time.Hour

// batch is how many old blobs are checked against the database at once.
const batch = 500

// Sweeper removes what nothing references, older than OlderThan.
type Sweeper struct {
	Store Store
	Blobs blob.Store
	// TempDirs are directories of scratch files (index spills) whose
	// entries older than OlderThan a crash left behind.
	TempDirs  []string
	OlderThan time.Duration // default DefaultOlderThan
	// Interval is the pause between passes; default OlderThan/2, within
	// [1 minute, 1 hour], each pause varied by ±10% so that replicas
	// started together spread out.
	Interval time.Duration
	Logger   *slog.Logger
	Now      func() time.Time
}

// Result counts what one pass removed.
type Result struct {
	Uploads   int   // unfinished uploads aborted
	TempFiles int   // scratch files removed
	Blobs     int   // unreferenced blobs deleted
	Bytes     int64 // their size
	Kept      int   // old unreferenced blobs spared because their job is young or active
	Foreign   int   // keys under the artifact prefix of a shape Baton does not write, left alone
}

// Run sweeps once at once, then every Interval, until ctx ends.
func (s *Sweeper) Run(ctx context.Context) error {
	for {
		if _, err := s.Pass(ctx); err != nil && ctx.Err() == nil {
			s.logger().Error("sweeping orphaned artifact bytes", "err", err)
		}
		t := time.NewTimer(s.interval())
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (s *Sweeper) olderThan() time.Duration {
	if s.OlderThan > 0 {
		return s.OlderThan
	}
	return DefaultOlderThan
}

func (s *Sweeper) interval() time.Duration {
	d := s.Interval
	if d <= 0 {
		d = min(max(s.olderThan()/2, time.Minute), time.Hour)
	}
	return d - d/10 + rand.N(d/5+1)
}

func (s *Sweeper) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sweeper) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Pass removes, once, every unfinished upload, scratch file and
// unreferenced blob older than OlderThan. It goes on past a failure to
// remove one thing and returns the first error.
func (s *Sweeper) Pass(ctx context.Context) (Result, error) {
	now := s.now()
	cutoff := now.Add(-s.olderThan())
	var res Result
	var errs []error
	if err := s.abortUploads(ctx, cutoff, &res); err != nil {
		errs = append(errs, err)
	}
	for _, dir := range s.TempDirs {
		if err := s.removeTemp(ctx, dir, cutoff, &res); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.deleteOrphans(ctx, cutoff, &res); err != nil {
		errs = append(errs, err)
	}
	if res.Uploads+res.TempFiles+res.Blobs > 0 {
		s.logger().Info("swept orphaned artifact bytes", "uploads_aborted", res.Uploads, "temp_files", res.TempFiles,
			"blobs", res.Blobs, "bytes", res.Bytes, "older_than", s.olderThan().String())
	}
	return res, errors.Join(errs...)
}

func (s *Sweeper) abortUploads(ctx context.Context, cutoff time.Time, res *Result) error {
	var old []blob.Upload
	if err := s.Blobs.Uploads(ctx, func(u blob.Upload) error {
		if !u.Started.After(cutoff) {
			old = append(old, u)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("listing unfinished uploads: %w", err)
	}
	var first error
	for _, u := range old {
		if err := s.Blobs.AbortUpload(ctx, u); err != nil {
			first = cmp(first, fmt.Errorf("aborting upload %s of %q: %w", u.ID, u.Key, err))
			continue
		}
		res.Uploads++
	}
	return first
}

func (s *Sweeper) removeTemp(ctx context.Context, dir string, cutoff time.Time, res *Result) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing %s: %w", dir, err)
	}
	var first error
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil || info.ModTime().After(cutoff) {
			continue // gone meanwhile, or young
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			first = cmp(first, fmt.Errorf("removing scratch file: %w", err))
			continue
		}
		res.TempFiles++
	}
	return first
}

// deleteOrphans lists artifact blobs and checks the old ones against the
// database, batch by batch.
func (s *Sweeper) deleteOrphans(ctx context.Context, cutoff time.Time, res *Result) error {
	var pending []blob.Entry
	var first error
	flush := func() {
		if len(pending) > 0 {
			first = cmp(first, s.check(ctx, pending, cutoff, res))
			pending = pending[:0]
		}
	}
	err := s.Blobs.List(ctx, ci.ArtifactKeyPrefix, func(e blob.Entry) error {
		if e.ModTime.After(cutoff) {
			return nil
		}
		if _, ok := ci.ArtifactKeyJob(e.Key); !ok {
			res.Foreign++
			return nil
		}
		pending = append(pending, e)
		if len(pending) >= batch {
			flush()
		}
		return ctx.Err()
	})
	if err != nil {
		return fmt.Errorf("listing artifact blobs: %w", err)
	}
	flush()
	return first
}

// check deletes the entries no row references whose job is gone or long
// finished.
func (s *Sweeper) check(ctx context.Context, entries []blob.Entry, cutoff time.Time, res *Result) error {
	seen := map[int64]bool{}
	var jobs []int64
	for _, e := range entries {
		id, _ := ci.ArtifactKeyJob(e.Key)
		if !seen[id] {
			seen[id] = true
			jobs = append(jobs, id)
		}
	}
	arts, err := s.Store.ArtifactsOfJobs(ctx, jobs)
	if err != nil {
		return fmt.Errorf("listing artifacts of %d jobs: %w", len(jobs), err)
	}
	referenced := map[string]bool{}
	for _, a := range arts {
		referenced[a.BlobKey] = true
		if a.IndexKey != "" {
			referenced[a.IndexKey] = true
		}
	}
	settled := map[int64]bool{} // job id → gone or finished before cutoff
	var first error
	for _, e := range entries {
		if referenced[e.Key] {
			continue
		}
		id, _ := ci.ArtifactKeyJob(e.Key)
		ok, known := settled[id]
		if !known {
			j, err := s.Store.JobByID(ctx, id)
			switch {
			case ci.IsNotFound(err):
				ok = true
			case err != nil:
				first = cmp(first, fmt.Errorf("looking up job %d: %w", id, err))
				continue
			default:
				ok = j.Status.Finished() && (j.FinishedAt == nil || !j.FinishedAt.After(cutoff))
			}
			settled[id] = ok
		}
		if !ok {
			res.Kept++
			continue
		}
		if err := s.Blobs.Delete(ctx, e.Key); err != nil {
			first = cmp(first, fmt.Errorf("deleting orphaned blob %q: %w", e.Key, err))
			continue
		}
		res.Blobs++
		res.Bytes += e.Size
		s.logger().Debug("deleted orphaned blob", "key", e.Key, "job_id", id, "bytes", e.Size)
	}
	return first
}

// cmp keeps the first error.
func cmp(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
