package s3

import "github.com/batonci/baton/internal/blob"

// name returns the object name of key, after checking the key.
func (s *Store) name(key string) (string, error) {
	if err := blob.CheckKey(key); err != nil {
		return "", err
	}
	return s.prefix + key, nil
}
