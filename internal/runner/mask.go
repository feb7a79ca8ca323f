package runner

import (
	"bytes"
	"io"
	"sort"
	"sync"
)

// maskedText replaces every secret in the trace.
const maskedText = "[MASKED]"

// masker is a writer that replaces secrets with [MASKED] before passing bytes
// on, also when a secret is split across writes: it holds back a tail that
// could still grow into a secret until the next Write or Flush. Tokens that
// start with one of the job's token_mask_prefixes (e.g. "glpat-") keep their
// prefix and lose the rest.
type masker struct {
	mu       sync.Mutex
	out      io.Writer
	secrets  [][]byte // longest first, so the longest overlapping secret wins
	prefixes [][]byte
	pending  []byte
}

func newMasker(out io.Writer, secrets, prefixes []string) *masker {
	m := &masker{out: out}
	seen := map[string]bool{}
	for _, s := range secrets {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		m.secrets = append(m.secrets, []byte(s))
	}
	sort.Slice(m.secrets, func(i, j int) bool { return len(m.secrets[i]) > len(m.secrets[j]) })
	for _, p := range prefixes {
		if p != "" {
			m.prefixes = append(m.prefixes, []byte(p))
		}
	}
	return m
}

// Write masks p and forwards what is certainly not part of a secret.
func (m *masker) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.secrets) == 0 && len(m.prefixes) == 0 {
		return m.out.Write(p)
	}
	m.pending = append(m.pending, p...)
	if err := m.process(false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush forwards the held-back tail; call it when a stream ends.
func (m *masker) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.process(true)
}

func (m *masker) process(final bool) error {
	buf := m.pending
	out := make([]byte, 0, len(buf)+len(maskedText))
	hold := -1 // >= 0: keep buf[hold:] for the next write
	for {
		at, n := -1, 0
		for _, s := range m.secrets {
			if i := bytes.Index(buf, s); i >= 0 && (at < 0 || i < at) {
				at, n = i, len(s) // longest first: ties keep the longer secret
			}
		}
		ts, te, incomplete := m.findToken(buf, final)
		if ts >= 0 && (at < 0 || ts < at) {
			out = append(out, buf[:ts]...)
			if incomplete {
				buf, hold = buf[ts:], 0
				break
			}
			out = append(out, buf[ts:te-tokenLen(buf[ts:te], m.prefixes)]...)
			out = append(out, maskedText...)
			buf = buf[te:]
			continue
		}
		if at < 0 {
			break
		}
		out = append(out, buf[:at]...)
		out = append(out, maskedText...)
		buf = buf[at+n:]
	}
	if hold < 0 {
		hold = len(buf)
		if !final {
			hold = len(buf) - m.partialTail(buf)
		}
	}
	out = append(out, buf[:hold]...)
	m.pending = append(m.pending[:0], buf[hold:]...)
	if len(out) == 0 {
		return nil
	}
	_, err := m.out.Write(out)
	return err
}

// partialTail is the length of the longest tail of buf that is a proper
// prefix of a secret or a token prefix, so it may still grow into one.
func (m *masker) partialTail(buf []byte) int {
	hold := 0
	for _, list := range [][][]byte{m.secrets, m.prefixes} {
		for _, s := range list {
			for k := min(len(s)-1, len(buf)); k > hold; k-- {
				if bytes.HasSuffix(buf, s[:k]) {
					hold = k
					break
				}
			}
		}
	}
	return hold
}

// findToken finds the earliest prefix followed by token characters. When the
// token runs to the end of buf and more may come, incomplete is true.
func (m *masker) findToken(buf []byte, final bool) (start, end int, incomplete bool) {
	start = -1
	for _, p := range m.prefixes {
		for off := 0; ; {
			i := bytes.Index(buf[off:], p)
			if i < 0 {
				break
			}
			i += off
			if start >= 0 && i >= start {
				break
			}
			e := i + len(p)
			for e < len(buf) && isTokenChar(buf[e]) {
				e++
			}
			if e == len(buf) && !final {
				start, end, incomplete = i, e, true
				break
			}
			if e > i+len(p) {
				start, end, incomplete = i, e, false
				break
			}
			off = i + 1
		}
	}
	return start, end, incomplete
}

// tokenLen is the length of tok after its (longest matching) prefix.
func tokenLen(tok []byte, prefixes [][]byte) int {
	best := 0
	for _, p := range prefixes {
		if bytes.HasPrefix(tok, p) && len(p) > best {
			best = len(p)
		}
	}
	return len(tok) - best
}

func isTokenChar(c byte) bool {
	return c == '-' || c == '_' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
