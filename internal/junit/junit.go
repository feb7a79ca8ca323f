// Package junit reads the junit reports jobs upload (artifacts:reports:junit)
// into test cases, the way GitLab's parser reads them, streaming and bounded.
package junit

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// Defaults for Limits' zero values.
const (
	DefaultMaxBytes = 20 << 20 // GitLab's default junit artifact size limit
	DefaultMaxCases = 100_000
	// MaxText bounds the stored text of one case's output or trace;
	// longer text is cut.
	MaxText = 64 << 10
)

// Limits bound what one report may make Baton read and keep.
type Limits struct {
	// MaxBytes bounds the report's XML after decompression, all files
	// together; 0 means DefaultMaxBytes.
	MaxBytes int64
	// MaxCases bounds the test cases of one report; 0 means
	// DefaultMaxCases.
	MaxCases int
}

func (l Limits) maxBytes() int64 {
	if l.MaxBytes <= 0 {
		return DefaultMaxBytes
	}
	return l.MaxBytes
}

func (l Limits) maxCases() int {
	if l.MaxCases <= 0 {
		return DefaultMaxCases
	}
	return l.MaxCases
}

// Parse reads a junit report as runners upload it: a gzip stream of one
// member per XML file (gitlab-runner's artifact_format gzip), or plain
// XML. It calls yield for every <testcase> in document order. A report
// that is not junit XML, or is over a limit, is KindInvalid with the
// message GitLab shows as the suite's error; the cases yielded before
// are to be discarded. A failure to read r itself is an internal error.
//
// As in GitLab, a case's status comes from its child elements: <failure>
// is failed, <error> error, <skipped> skipped, none of them success; the
// status attribute is ignored.
func Parse(r io.Reader, lim Limits, yield func(ci.TestCase) error) error {
	br := bufio.NewReader(r)
	counted := &countingReader{left: lim.maxBytes(), limit: lim.maxBytes()}
	p := &parser{max: lim.maxCases(), yield: yield}
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return readError(err)
		}
		for {
			zr.Multistream(false)
			counted.r = zr
			if err := p.document(counted); err != nil {
				return counted.wrap(err)
			}
			if _, err := io.Copy(io.Discard, counted); err != nil {
				return counted.wrap(readError(err))
			}
			if err := zr.Reset(br); errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return readError(err)
			}
		}
	}
	counted.r = br
	return counted.wrap(p.document(counted))
}

func invalid(format string, args ...any) error {
	return ci.Errorf(ci.KindInvalid, "JUnit XML parsing failed: "+format, args...)
}

var errTooLarge = errors.New("too large")

// countingReader fails once more than left bytes were read.
type countingReader struct {
	r           io.Reader
	left, limit int64
	over        bool
}

func (c *countingReader) Read(b []byte) (int, error) {
	if c.left <= 0 {
		c.over = true
		return 0, errTooLarge
	}
	if int64(len(b)) > c.left {
		b = b[:c.left+1] // one byte more tells a file of exactly the limit from a larger one
	}
	n, err := c.r.Read(b)
	c.left -= int64(n)
	if c.left < 0 {
		c.over = true
		return n, errTooLarge
	}
	return n, err
}

func (c *countingReader) wrap(err error) error {
	if err == nil {
		return nil
	}
	if c.over || errors.Is(err, errTooLarge) {
		return invalid("the report is larger than %d bytes uncompressed", c.limit)
	}
	return err
}

// readError classifies an error of the XML decoder: the report's own
// faults (bad XML, bad gzip) are KindInvalid with their text; anything
// else (reading the stored bytes) stays an internal error, whose text the
// client never sees.
func readError(err error) error {
	var syn *xml.SyntaxError
	var corrupt flate.CorruptInputError
	switch {
	case errors.As(err, &syn):
		return invalid("%v", syn)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.As(err, &corrupt), errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("the gzip stream is corrupt")
	}
	if ci.KindOf(err) != ci.KindInternal {
		return err
	}
	return fmt.Errorf("reading junit report: %w", err)
}

type parser struct {
	max   int
	n     int
	yield func(ci.TestCase) error
}

// caseState is the <testcase> being read.
type caseState struct {
	tc            ci.TestCase
	depth         int    // element depth of the <testcase>
	result        string // failure, error or skipped: the element deciding the status
	inResult      bool
	message, text strings.Builder
}

// document reads one XML document.
func (p *parser) document(r io.Reader) error {
	dec := xml.NewDecoder(r)
	dec.Strict = true
	var cur *caseState
	depth, roots := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if depth != 0 || cur != nil || roots == 0 {
				return invalid("unexpected end of document")
			}
			return nil
		}
		if err != nil {
			if errors.Is(err, errTooLarge) {
				return err
			}
			return readError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
			switch {
			case cur == nil && t.Name.Local == "testcase":
				cur = &caseState{depth: depth}
				for _, a := range t.Attr {
					switch a.Name.Local {
					case "name":
						cur.tc.Name = a.Value
					case "classname":
						cur.tc.Classname = a.Value
					case "file":
						cur.tc.File = a.Value
					case "time":
						if f, err := strconv.ParseFloat(strings.TrimSpace(a.Value), 64); err == nil && f >= 0 {
							cur.tc.ExecutionTime = f
						}
					}
				}
			case cur != nil && depth == cur.depth+1 && isResult(t.Name.Local):
				if rank(t.Name.Local) > rank(cur.result) {
					cur.result = t.Name.Local
					cur.message.Reset()
					cur.text.Reset()
					for _, a := range t.Attr {
						if a.Name.Local == "message" {
							appendBounded(&cur.message, a.Value)
						}
					}
					cur.inResult = true
				}
			}
		case xml.EndElement:
			if cur != nil && depth == cur.depth+1 {
				cur.inResult = false
			}
			if cur != nil && depth == cur.depth {
				if err := p.finish(cur); err != nil {
					return err
				}
				cur = nil
			}
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return invalid("text outside the root element")
			}
			if cur != nil && cur.inResult {
				appendBounded(&cur.text, string(t))
			}
		}
	}
}

func (p *parser) finish(cur *caseState) error {
	p.n++
	if p.n > p.max {
		return invalid("At most %d test cases can be parsed", p.max)
	}
	tc := cur.tc
	text := strings.TrimSpace(cur.text.String())
	msg := cur.message.String()
	switch cur.result {
	case "failure":
		tc.Status = ci.TestFailed
	case "error":
		tc.Status = ci.TestError
	case "skipped":
		tc.Status = ci.TestSkipped
	default:
		tc.Status = ci.TestSuccess
	}
	if cur.result != "" {
		switch {
		case msg != "" && text != "" && cur.result != "skipped":
			tc.SystemOutput, tc.StackTrace = msg, text
		case text != "":
			tc.SystemOutput = text
		default:
			tc.SystemOutput = msg
		}
	}
	return p.yield(tc)
}

func isResult(name string) bool { return rank(name) > 0 }

// rank orders the result elements: a case with both a failure and a
// skipped element is failed.
func rank(name string) int {
	switch name {
	case "failure":
		return 3
	case "error":
		return 2
	case "skipped":
		return 1
	}
	return 0
}

func appendBounded(b *strings.Builder, s string) {
	if room := MaxText - b.Len(); room > 0 {
		if len(s) > room {
			s = s[:room]
		}
		b.WriteString(s)
	}
}
