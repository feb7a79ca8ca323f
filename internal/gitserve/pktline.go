package gitserve

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// RefUpdate is one ref changed by a push.
type RefUpdate struct {
	Ref     string // full name: refs/heads/main, refs/tags/v1
	Name    string // short name: main, v1
	Tag     bool   // Ref is under refs/tags/
	OldSHA  string // all zeros when Created
	NewSHA  string // all zeros when Deleted
	Deleted bool
	Created bool
}

// maxCommands bounds how many ref commands one push may carry before Baton
// stops recording them (the push itself is not limited).
const maxCommands = 100_000

// parseCommands reads the command list at the start of a receive-pack request
// (pkt-lines "<old> <new> <ref>[\0capabilities]" up to a flush packet, possibly
// preceded by "shallow" lines or wrapped in a push certificate) and returns the
// ref updates it asks for. It reads no further than the flush packet.
func parseCommands(r io.Reader) ([]RefUpdate, error) {
	updates, _, err := parseCommandList(r)
	return updates, err
}

// parseCommandList is parseCommands that also returns the capabilities the
// client asked for (after the NUL of the first command).
func parseCommandList(r io.Reader) (updates []RefUpdate, caps []string, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	inCert := false
	for {
		payload, flush, err := readPktLine(br)
		if err != nil {
			return updates, caps, err
		}
		if flush {
			if inCert {
				return updates, caps, errors.New("flush inside push certificate")
			}
			return updates, caps, nil
		}
		line, rest, hasCaps := strings.Cut(string(payload), "\x00")
		if hasCaps && caps == nil {
			caps = strings.Fields(rest)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "push-cert":
			inCert = true
			continue
		case line == "push-cert-end":
			inCert = false
			continue
		case strings.HasPrefix(line, "shallow "):
			continue
		}
		u, ok := parseCommand(line)
		if !ok {
			if inCert {
				continue // certificate header or signature lines
			}
			return updates, caps, fmt.Errorf("unexpected receive-pack command %q", truncate(line, 100))
		}
		if len(updates) >= maxCommands {
			return updates, caps, fmt.Errorf("more than %d ref updates", maxCommands)
		}
		updates = append(updates, u)
	}
}

// parseCommand parses "<old> <new> <ref>".
func parseCommand(line string) (RefUpdate, bool) {
	f := strings.SplitN(line, " ", 3)
	if len(f) != 3 || !isObjectName(f[0]) || !isObjectName(f[1]) || len(f[0]) != len(f[1]) || !strings.HasPrefix(f[2], "refs/") {
		return RefUpdate{}, false
	}
	u := RefUpdate{Ref: f[2], OldSHA: f[0], NewSHA: f[1], Created: isZero(f[0]), Deleted: isZero(f[1])}
	switch {
	case strings.HasPrefix(u.Ref, "refs/heads/"):
		u.Name = strings.TrimPrefix(u.Ref, "refs/heads/")
	case strings.HasPrefix(u.Ref, "refs/tags/"):
		u.Name, u.Tag = strings.TrimPrefix(u.Ref, "refs/tags/"), true
	default:
		u.Name = strings.TrimPrefix(u.Ref, "refs/")
	}
	return u, true
}

// readPktLine reads one pkt-line; flush is true for "0000". Delimiter and
// response-end packets ("0001", "0002") are not part of receive-pack's
// command list and are errors.
func readPktLine(br *bufio.Reader) (payload []byte, flush bool, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, false, fmt.Errorf("reading pkt-line length: %w", err)
	}
	n, err := strconv.ParseUint(string(hdr[:]), 16, 16)
	if err != nil {
		return nil, false, fmt.Errorf("invalid pkt-line length %q", hdr[:])
	}
	switch {
	case n == 0:
		return nil, true, nil
	case n < 4:
		return nil, false, fmt.Errorf("unexpected special packet %04x", n)
	}
	payload = make([]byte, n-4)
	if _, err := io.ReadFull(br, payload); err != nil {
		return nil, false, fmt.Errorf("reading pkt-line: %w", err)
	}
	return payload, false, nil
}

// isObjectName reports whether s is a full SHA-1 or SHA-256 object name.
func isObjectName(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isZero reports whether s is the all-zero object name git uses for "none".
func isZero(s string) bool { return strings.Trim(s, "0") == "" }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// commandSniffer sees a copy of a receive-pack request body as it streams to
// git and parses its command list in a goroutine. Once the list is parsed
// (or parsing failed) it stops copying, so only the command list is ever
// looked at and the pack is not held in memory.
type commandSniffer struct {
	body    io.Reader
	pw      *io.PipeWriter
	copying bool
	done    chan struct{}
	updates []RefUpdate
	err     error
}

// newCommandSniffer wraps body; gzipped says the body is gzip-encoded.
func newCommandSniffer(body io.Reader, gzipped bool) *commandSniffer {
	pr, pw := io.Pipe()
	s := &commandSniffer{body: body, pw: pw, copying: true, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		var r io.Reader = pr
		if gzipped {
			zr, err := gzip.NewReader(pr)
			if err != nil {
				s.err = fmt.Errorf("reading gzipped push: %w", err)
				pr.CloseWithError(s.err)
				return
			}
			r = zr
		}
		s.updates, s.err = parseCommands(r)
		// Makes further writes fail, which ends the copying.
		pr.CloseWithError(errSniffDone)
	}()
	return s
}

var errSniffDone = errors.New("command list parsed")

// Read reads from the body and hands a copy of the bytes to the parser
// while it still wants them.
func (s *commandSniffer) Read(p []byte) (int, error) {
	n, err := s.body.Read(p)
	if n > 0 && s.copying {
		if _, werr := s.pw.Write(p[:n]); werr != nil {
			s.copying = false
		}
	}
	if err != nil && s.copying {
		s.copying = false
		if err == io.EOF {
			s.pw.Close()
		} else {
			s.pw.CloseWithError(err)
		}
	}
	return n, err
}

// Result stops the copying if still going and returns the parsed commands.
// It must be called once the body has been consumed (or abandoned).
func (s *commandSniffer) Result() ([]RefUpdate, error) {
	s.pw.CloseWithError(errors.New("request body ended before the command list"))
	<-s.done
	return s.updates, s.err
}
