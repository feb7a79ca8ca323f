package runnerapi

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// GitLab's dotenv report limits (self-managed defaults).
const (
	MaxDotenvSize      = 5 << 10
	MaxDotenvVariables = 20
)

// DotenvVariable is one KEY=value of a dotenv report.
type DotenvVariable struct {
	Key, Value string
}

// ParseDotenv parses a dotenv report with GitLab's rules: one KEY=value per
// line, keys of [A-Za-z0-9_] only, the value everything after the first "="
// with surrounding whitespace stripped and quotes kept literally, a
// repeated key keeping its last value (at its first position). At most
// MaxDotenvSize bytes and MaxDotenvVariables variables. Unlike GitLab, blank
// lines (and CRLF line ends) are tolerated. Violations are KindInvalid with
// a message naming the line.
func ParseDotenv(data []byte) ([]DotenvVariable, error) {
	if len(data) > MaxDotenvSize {
		return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - dotenv report is larger than %d bytes", MaxDotenvSize)
	}
	var out []DotenvVariable
	index := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - invalid dotenv report: line %d is not KEY=value", n)
		}
		if !validDotenvKey(key) {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - invalid dotenv report: line %d: key %q may only contain A-Z, a-z, 0-9 and _", n, key)
		}
		v := DotenvVariable{Key: key, Value: strings.TrimSpace(value)}
		if i, seen := index[key]; seen {
			out[i] = v
			continue
		}
		index[key] = len(out)
		out = append(out, v)
		if len(out) > MaxDotenvVariables {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - Dotenv files cannot have more than %d variables", MaxDotenvVariables)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - invalid dotenv report: %v", err)
	}
	return out, nil
}

func validDotenvKey(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range []byte(k) {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// decodeDotenv reads a stored dotenv report (gzip or raw), reading at most
// one byte more than MaxDotenvSize of content, and parses it.
func decodeDotenv(r io.Reader) ([]DotenvVariable, error) {
	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - invalid dotenv report: not a valid gzip stream")
		}
		defer zr.Close()
		zr.Multistream(false)
		src = zr
	}
	data, err := io.ReadAll(io.LimitReader(src, MaxDotenvSize+1))
	if err != nil {
		return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - invalid dotenv report: %v", err)
	}
	return ParseDotenv(data)
}

// readDotenv loads and parses a stored dotenv report.
func (s *Server) readDotenv(ctx context.Context, a *ci.Artifact) ([]DotenvVariable, error) {
	obj, err := s.Blobs.Open(ctx, a.BlobKey)
	if err != nil {
		return nil, fmt.Errorf("opening dotenv blob: %w", err)
	}
	defer obj.Close()
	return decodeDotenv(obj)
}
