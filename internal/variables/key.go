package variables

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// KeySize is the size of a secrets key: AES-256.
const KeySize = 32

// sealVersion starts every sealed value, so that a later format can be
// told apart.
const sealVersion = 1

// Sealer encrypts CI/CD variable values at rest with AES-256-GCM. Each
// value is bound to where it belongs (scope, owner and key), so a sealed
// value copied into another row does not open.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a sealer for a KeySize-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secrets key: %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

func binding(v *ci.CIVariable) []byte {
	return []byte(fmt.Sprintf("baton ci variable\x00%s\x00%d\x00%s", v.Scope, v.OwnerID, v.Key))
}

// Seal encrypts v.Value for v's place.
func (s *Sealer) Seal(v *ci.CIVariable) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), 1+s.aead.NonceSize()+len(v.Value)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("sealing variable: %w", err)
	}
	out := append([]byte{sealVersion}, nonce...)
	return s.aead.Seal(out, nonce, []byte(v.Value), binding(v)), nil
}

// errWrongKey is what a value that does not open says.
var errWrongKey = errors.New("a stored CI/CD variable does not decrypt with this secrets key")

// Open decrypts sv's sealed value.
func (s *Sealer) Open(sv *ci.SealedVariable) (string, error) {
	n := s.aead.NonceSize()
	b := sv.Sealed
	if len(b) < 1+n || b[0] != sealVersion {
		return "", errWrongKey
	}
	plain, err := s.aead.Open(nil, b[1:1+n], b[1+n:], binding(&sv.CIVariable))
	if err != nil {
		return "", errWrongKey
	}
	return string(plain), nil
}

// ParseKey reads a secrets key: 64 hexadecimal digits or the base64 (with
// or without padding, standard or URL alphabet) of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, fmt.Errorf("a secrets key is 32 bytes written as 64 hexadecimal digits or in base64 (openssl rand -base64 32)")
}

// KeySource is where a key may come from, in order of preference: the
// value itself (--secrets-key or BATON_SECRETS_KEY) or a file holding it
// (--secrets-key-file).
type KeySource struct {
	Value string
	File  string
}

// Load returns the key the source names, nil if it names none.
func (k KeySource) Load() ([]byte, error) {
	switch {
	case k.Value != "":
		key, err := ParseKey(k.Value)
		if err != nil {
			return nil, fmt.Errorf("--secrets-key: %w", err)
		}
		return key, nil
	case k.File != "":
		raw, err := os.ReadFile(k.File)
		if err != nil {
			return nil, fmt.Errorf("--secrets-key-file: %w", err)
		}
		key, err := ParseKey(string(raw))
		if err != nil {
			return nil, fmt.Errorf("--secrets-key-file %s: %w", k.File, err)
		}
		return key, nil
	}
	return nil, nil
}

// GenerateKeyFile returns the key in path, first writing a new random one
// there (mode 0600) if the file does not exist; created reports whether it
// did.
func GenerateKeyFile(path string) (key []byte, created bool, err error) {
	if raw, err := os.ReadFile(path); err == nil {
		key, err := ParseKey(string(raw))
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return key, false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("writing secrets key: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("writing secrets key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, err
	}
	return key, true, f.Close()
}
