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
// could still grow into a secret until the next Write or Flush.
type masker struct {
	mu      sync.Mutex
	out     io.Writer
	secrets [][]byte // longest first, so the longest overlapping secret wins
	pending []byte
}

func newMasker(out io.Writer, secrets []string) *masker {
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
	return m
}

// Write masks p and forwards what is certainly not part of a secret.
func (m *masker) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.secrets) == 0 {
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
	for {
		at, n := -1, 0
		for _, s := range m.secrets {
			if i := bytes.Index(buf, s); i >= 0 && (at < 0 || i < at) {
				at, n = i, len(s) // longest first: ties keep the longer secret
			}
		}
		if at < 0 {
			break
		}
		out = append(out, buf[:at]...)
		out = append(out, maskedText...)
		buf = buf[at+n:]
	}
	hold := 0 // longest tail that may still grow into a secret
	if !final {
		for _, s := range m.secrets {
			for k := min(len(s)-1, len(buf)); k > hold; k-- {
				if bytes.HasSuffix(buf, s[:k]) {
					hold = k
					break
				}
			}
		}
	}
	out = append(out, buf[:len(buf)-hold]...)
	m.pending = append(m.pending[:0], buf[len(buf)-hold:]...)
	if len(out) == 0 {
		return nil
	}
	_, err := m.out.Write(out)
	return err
}
