package blob

import (
	"context"
	"io"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// CheckKey returns a KindInvalid error unless key is a clean, relative,
// slash-separated path: no empty, "." or ".." segment, no backslash, no NUL.
// Every store applies it, so all accept exactly the same keys.
func CheckKey(key string) error {
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

// ContextReader reads from r until ctx is done, then fails with ctx's
// error: a Put stops copying once its caller gives up.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
