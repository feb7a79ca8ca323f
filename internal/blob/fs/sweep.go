package fs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Sweep removes temporary upload files older than olderThan, which a crashed
// process leaves behind in root/tmp. It returns how many files it removed.
// Pass an olderThan well above the longest upload: a live upload's file is
// written continuously, so its modification time stays recent.
func (s *Store) Sweep(ctx context.Context, olderThan time.Duration) (int, error) {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return 0, fmt.Errorf("listing temporary uploads: %w", err)
	}
	cutoff := time.Now().Add(-olderThan)
	removed := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		info, err := e.Info()
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // finished meanwhile
			}
			return removed, fmt.Errorf("inspecting temporary upload: %w", err)
		}
		if info.ModTime().After(cutoff) {
			continue
		}
		err = os.RemoveAll(filepath.Join(s.tmp, e.Name()))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, fmt.Errorf("removing temporary upload: %w", err)
		}
		removed++
	}
	return removed, nil
}
