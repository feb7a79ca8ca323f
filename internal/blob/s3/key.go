package s3

import (
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// checkKey returns a KindInvalid error unless key is a clean, relative,
// slash-separated path: no empty, "." or ".." segment, no backslash, no NUL.
// It is the same rule as blob/fs's, so both stores accept the same keys.
func checkKey(key string) error {
	if key == "" {
		return ci.Errorf(ci.KindInvalid, "empty blob key")
	}
	if strings.ContainsAny(key, "\\\x00") {
		return ci.Errorf(ci.KindInvalid, "blob key %q contains a backslash or NUL", key)
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "", ".", "..":
			return ci.Errorf(ci.KindInvalid, "blob key %q has an empty, \".\" or \"..\" segment", key)
		}
	}
	return nil
}

// name returns the object name of key, after checking the key.
func (s *Store) name(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return s.prefix + key, nil
}
