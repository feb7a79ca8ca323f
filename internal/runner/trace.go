package runner

import (
	"fmt"
	"hash/crc32"
	"sync"
	"time"
)

// traceBuffer keeps the job log until it is acknowledged and checksummed.
// Output beyond limit is dropped with one notice, like gitlab-runner's output_limit.
type traceBuffer struct {
	mu     sync.Mutex
	buf    []byte
	limit  int
	full   bool
	notify chan struct{} // signalled (non-blocking) on every write
}

func newTraceBuffer(limit int) *traceBuffer {
	return &traceBuffer{limit: limit, notify: make(chan struct{}, 1)}
}

// Write appends p, truncating at the limit; it never fails.
func (t *traceBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.full {
		return len(p), nil
	}
	if room := t.limit - len(t.buf); len(p) > room {
		t.buf = append(t.buf, p[:room]...)
		t.buf = append(t.buf, fmt.Sprintf("\n\x1b[31;1mJob's log exceeded limit of %d bytes.\nJob execution will continue but no more output will be collected.\x1b[0;m\n", t.limit)...)
		t.full = true
	} else {
		t.buf = append(t.buf, p...)
	}
	select {
	case t.notify <- struct{}{}:
	default:
	}
	return len(p), nil
}

// chunk returns a copy of at most max bytes starting at from.
func (t *traceBuffer) chunk(from, max int) []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	if from >= len(t.buf) {
		return nil
	}
	end := min(len(t.buf), from+max)
	return append([]byte(nil), t.buf[from:end]...)
}

// size is the number of trace bytes produced so far.
func (t *traceBuffer) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.buf)
}

// checksum is the IEEE CRC32 of all trace bytes, as the final update reports it.
func (t *traceBuffer) checksum() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprintf("crc32:%08x", crc32.ChecksumIEEE(t.buf))
}

// ANSI sequences used by gitlab-runner's bash shell.
const (
	ansiBoldGreen  = "\x1b[32;1m"
	ansiBoldRed    = "\x1b[31;1m"
	ansiBoldYellow = "\x1b[0;33m"
	ansiReset      = "\x1b[0;m"
	ansiClearLine  = "\x1b[0K"
)

// sectionStart writes a GitLab collapsible section header.
func sectionStart(w interface{ Write([]byte) (int, error) }, name, header string) {
	fmt.Fprintf(w, "section_start:%d:%s\r%s%s%s%s\n", time.Now().Unix(), name, ansiClearLine, ansiBoldGreen, header, ansiReset)
}

// sectionEnd closes a section started with sectionStart.
func sectionEnd(w interface{ Write([]byte) (int, error) }, name string) {
	fmt.Fprintf(w, "section_end:%d:%s\r%s", time.Now().Unix(), name, ansiClearLine)
}
