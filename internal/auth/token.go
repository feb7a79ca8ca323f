// Package auth issues and checks Baton's secrets (personal, job, runner and
// trigger tokens) and decides what an authenticated caller may do. Secrets
// are never stored: only their SHA-256 hashes, compared in constant time.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// Token prefixes, GitLab's where GitLab has one.
const (
	PrefixPersonal     = "glpat-"
	PrefixJob          = "glcbt-"
	PrefixRunner       = "glrt-"
	PrefixTrigger      = "glptt-"
	PrefixRegistration = "GR1348941"
)

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// NewToken returns a fresh secret with the given prefix and 32 random
// base62 characters (about 190 bits), and the hash to store.
func NewToken(prefix string) (secret, hash string) {
	var b strings.Builder
	b.WriteString(prefix)
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		panic("auth: reading random bytes: " + err.Error()) // crypto/rand never fails on Linux
	}
	for _, c := range buf {
		// 62*4 = 248: reject nothing, accept a tiny bias-free reduction by
		// redrawing values ≥ 248.
		for c >= 248 {
			var one [1]byte
			_, _ = rand.Read(one[:])
			c = one[0]
		}
		b.WriteByte(alphabet[int(c)%62])
	}
	secret = b.String()
	return secret, Hash(secret)
}

// Hash is the hex SHA-256 of a secret, the form in which Baton stores it.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Equal compares two secrets or hashes in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
