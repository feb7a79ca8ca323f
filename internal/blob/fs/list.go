package fs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/batonci/baton/internal/blob"
	"github.com/batonci/baton/internal/ci"
)

// List calls fn with every object whose key starts with prefix. Files
// deleted while the walk runs are skipped.
func (s *Store) List(ctx context.Context, prefix string, fn func(blob.Entry) error) error {
	// Walk only the directory the prefix names, not the whole store.
	start := s.data
	if i := strings.LastIndex(prefix, "/"); i > 0 {
		dir, err := s.path(prefix[:i])
		if err != nil {
			return err
		}
		start = dir
	}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil // deleted meanwhile, or a prefix nothing is under
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(s.data, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			if p != start && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		return fn(blob.Entry{Key: key, Size: info.Size(), ModTime: info.ModTime()})
	})
	if err != nil {
		return fmt.Errorf("listing blobs: %w", err)
	}
	return nil
}

// Uploads lists the temporary files of root/tmp: uploads under way, or
// left behind by a crash. A file's Started is its modification time, which
// a live upload keeps recent by writing.
func (s *Store) Uploads(ctx context.Context, fn func(blob.Upload) error) error {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return fmt.Errorf("listing temporary uploads: %w", err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := e.Info()
		if errors.Is(err, os.ErrNotExist) {
			continue // finished meanwhile
		}
		if err != nil {
			return fmt.Errorf("inspecting temporary upload: %w", err)
		}
		if err := fn(blob.Upload{ID: e.Name(), Started: info.ModTime()}); err != nil {
			return err
		}
	}
	return nil
}

// AbortUpload removes an upload's temporary file.
func (s *Store) AbortUpload(ctx context.Context, u blob.Upload) error {
	if u.ID == "" || u.ID != filepath.Base(u.ID) || u.ID == "." || u.ID == ".." {
		return ci.Errorf(ci.KindInvalid, "invalid upload id %q", u.ID)
	}
	if err := os.RemoveAll(filepath.Join(s.tmp, u.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing temporary upload: %w", err)
	}
	return nil
}
