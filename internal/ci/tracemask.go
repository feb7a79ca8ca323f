package ci

import (
	"bytes"
	"sort"
)

// MaskedText replaces a masked variable's value in job logs (GitLab's).
const MaskedText = "[MASKED]"

// TraceMask replaces the values of a job's masked variables in its log as
// the log is stored, patch after patch. It keeps the log's length: each
// value becomes MaskedText padded with '*' to the value's length (masked
// values have at least MaskedValueMinLength characters), so that offsets
// the runner counts stay offsets into the stored log.
//
// A value split across two patches is still found: Mask holds back the
// end of a patch that could begin a value until the next patch (or the
// end of the log) shows whether it does.
type TraceMask struct {
	secrets [][]byte
	longest int
}

// NewTraceMask returns a mask for secrets; values shorter than
// MaskedValueMinLength bytes are ignored (they cannot be masked).
func NewTraceMask(secrets []string) *TraceMask {
	m := &TraceMask{}
	seen := map[string]bool{}
	for _, s := range secrets {
		if len(s) < MaskedValueMinLength || seen[s] {
			continue
		}
		seen[s] = true
		m.secrets = append(m.secrets, []byte(s))
		m.longest = max(m.longest, len(s))
	}
	// Longer values first, so that a value containing another is masked whole.
	sort.Slice(m.secrets, func(i, j int) bool { return len(m.secrets[i]) > len(m.secrets[j]) })
	return m
}

// Empty reports whether the mask has nothing to hide.
func (m *TraceMask) Empty() bool { return m == nil || len(m.secrets) == 0 }

// Mask masks pending (what the previous call held back) followed by data
// and returns the bytes safe to store, then the bytes to hold back until
// the next call: the longest end of the input that begins a secret.
// len(out)+len(keep) == len(pending)+len(data).
func (m *TraceMask) Mask(pending, data []byte) (out, keep []byte) {
	buf := make([]byte, 0, len(pending)+len(data))
	buf = append(append(buf, pending...), data...)
	if m.Empty() {
		return buf, nil
	}
	for _, s := range m.secrets {
		for i := 0; ; {
			j := bytes.Index(buf[i:], s)
			if j < 0 {
				break
			}
			copy(buf[i+j:], maskOf(len(s)))
			i += j + len(s)
		}
	}
	hold := 0
	for _, s := range m.secrets {
		for l := min(len(s)-1, len(buf)); l > hold; l-- {
			if bytes.HasSuffix(buf, s[:l]) {
				hold = l
				break
			}
		}
	}
	cut := len(buf) - hold
	return buf[:cut], append([]byte(nil), buf[cut:]...)
}

// FlushPending is what a log's held-back end becomes when the log ends:
// it began a secret, so it is replaced by as many '*'.
func FlushPending(pending []byte) []byte { return bytes.Repeat([]byte{'*'}, len(pending)) }

func maskOf(n int) []byte {
	b := bytes.Repeat([]byte{'*'}, n)
	copy(b, MaskedText)
	return b
}
