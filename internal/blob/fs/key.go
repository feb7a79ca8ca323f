package fs

import (
	"path/filepath"

	"github.com/batonci/baton/internal/blob"
)

// path returns the file that holds key, after checking the key.
func (s *Store) path(key string) (string, error) {
	if err := blob.CheckKey(key); err != nil {
		return "", err
	}
	return filepath.Join(s.data, filepath.FromSlash(key)), nil
}
