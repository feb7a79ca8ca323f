package junit

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

func gz(t *testing.T, files ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, f := range files {
		w := gzip.NewWriter(&b)
		if _, err := w.Write([]byte(f)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func parseAll(data []byte, lim Limits) ([]ci.TestCase, error) {
	var out []ci.TestCase
	err := Parse(bytes.NewReader(data), lim, func(tc ci.TestCase) error { out = append(out, tc); return nil })
	return out, err
}

const rspec = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="rspec" tests="4">
    <testcase classname="spec.a" name="adds" time="0.25" file="spec/a_spec.rb"/>
    <testcase classname="spec.a" name="subtracts" time="1.5">
      <failure message="expected 2 got 3">Failure/Error: expect(x).to eq 2
  ./spec/a_spec.rb:9</failure>
      <system-out>noise</system-out>
    </testcase>
    <testcase classname="spec.b" name="boots" time="oops"><error>boom</error></testcase>
    <testcase classname="spec.b" name="later" status="failed"><skipped message="pending"/></testcase>
  </testsuite>
</testsuites>`

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		data func(t *testing.T) []byte
		lim  Limits
		want []ci.TestCase
		err  string
	}{
		{"plain xml", func(*testing.T) []byte { return []byte(rspec) }, Limits{}, []ci.TestCase{
			{Status: ci.TestSuccess, Name: "adds", Classname: "spec.a", File: "spec/a_spec.rb", ExecutionTime: 0.25},
			{Status: ci.TestFailed, Name: "subtracts", Classname: "spec.a", ExecutionTime: 1.5, SystemOutput: "expected 2 got 3", StackTrace: "Failure/Error: expect(x).to eq 2\n  ./spec/a_spec.rb:9"},
			{Status: ci.TestError, Name: "boots", Classname: "spec.b", SystemOutput: "boom"},
			{Status: ci.TestSkipped, Name: "later", Classname: "spec.b", SystemOutput: "pending"},
		}, ""},
		{"gzip members, one per file", func(t *testing.T) []byte {
			return gz(t, `<testsuite><testcase name="one"/></testsuite>`, `<testsuites><testsuite><testsuite><testcase name="two"><failure/></testcase></testsuite></testsuite></testsuites>`)
		}, Limits{}, []ci.TestCase{{Status: ci.TestSuccess, Name: "one"}, {Status: ci.TestFailed, Name: "two"}}, ""},
		{"empty suite", func(t *testing.T) []byte { return gz(t, `<testsuite></testsuite>`) }, Limits{}, nil, ""},
		{"not xml", func(t *testing.T) []byte { return gz(t, `{"json": true}`) }, Limits{}, nil, "JUnit XML parsing failed"},
		{"truncated xml", func(t *testing.T) []byte { return gz(t, `<testsuite><testcase name="x">`) }, Limits{}, nil, "JUnit XML parsing failed"},
		{"too many cases", func(t *testing.T) []byte {
			return gz(t, `<testsuite><testcase name="a"/><testcase name="b"/><testcase name="c"/></testsuite>`)
		}, Limits{MaxCases: 2}, nil, "At most 2 test cases can be parsed"},
		{"exactly the cases limit", func(t *testing.T) []byte {
			return gz(t, `<testsuite><testcase name="a"/><testcase name="b"/></testsuite>`)
		}, Limits{MaxCases: 2}, []ci.TestCase{{Status: ci.TestSuccess, Name: "a"}, {Status: ci.TestSuccess, Name: "b"}}, ""},
		{"bomb over the size limit", func(t *testing.T) []byte {
			return gz(t, `<testsuite><testcase name="a"/>`+strings.Repeat("<!-- padding -->", 1<<12)+`</testsuite>`)
		}, Limits{MaxBytes: 4096}, nil, "larger than 4096 bytes"},
		{"size limit spans files", func(t *testing.T) []byte {
			doc := `<testsuite><testcase name="a"/></testsuite>`
			return gz(t, doc, doc, doc)
		}, Limits{MaxBytes: int64(2*len(`<testsuite><testcase name="a"/></testsuite>`) + 5)}, nil, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAll(tt.data(t), tt.lim)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || ci.KindOf(err) != ci.KindInvalid {
					t.Fatalf("err = %v, want KindInvalid containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("cases\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

type failingReader struct{ data []byte }

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, errors.New("disk on fire at /secret/path")
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// TestParseReadErrors: the report's faults are the client's (KindInvalid,
// shown as the suite error); failing to read the stored bytes is Baton's
// (internal: its text is never shown).
func TestParseReadErrors(t *testing.T) {
	good := gz(t, `<testsuite><testcase name="a"/></testsuite>`)
	corrupt := append([]byte(nil), good...)
	corrupt[len(corrupt)-6] ^= 0xff // the CRC-32 trailer
	tests := []struct {
		name string
		r    io.Reader
		kind ci.Kind
	}{
		{"corrupt gzip", bytes.NewReader(corrupt), ci.KindInvalid},
		{"read failure", &failingReader{data: good[:20]}, ci.KindInternal},
	}
	for _, tt := range tests {
		err := Parse(tt.r, Limits{}, func(ci.TestCase) error { return nil })
		if ci.KindOf(err) != tt.kind {
			t.Errorf("%s: %v (kind %s), want %s", tt.name, err, ci.KindOf(err), tt.kind)
		}
		if tt.kind == ci.KindInvalid && strings.Contains(ci.MessageOf(err), "secret") {
			t.Errorf("%s: message leaks %q", tt.name, ci.MessageOf(err))
		}
	}
}

func TestParseBoundsText(t *testing.T) {
	long := strings.Repeat("x", MaxText+100)
	got, err := parseAll(gz(t, `<testsuite><testcase name="a"><failure>`+long+`</failure></testcase></testsuite>`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].SystemOutput) != MaxText {
		t.Fatalf("system output of %d bytes, want %d", len(got[0].SystemOutput), MaxText)
	}
}

func TestSuiteName(t *testing.T) {
	for in, want := range map[string]string{
		"rspec 1/3": "rspec", "rspec": "rspec", "unit tests 10/12": "unit tests",
		"test: [linux, amd64]": "test", "a 1/x": "a 1/x",
	} {
		if got := ci.TestSuiteName(in); got != want {
			t.Errorf("TestSuiteName(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkParse reads a gzip report of 10,000 cases (a tenth failing with
// output), reporting the uncompressed bytes per second.
func BenchmarkParse(b *testing.B) {
	var xml strings.Builder
	xml.WriteString(`<?xml version="1.0"?><testsuites><testsuite name="bench">`)
	for i := range 10_000 {
		if i%10 == 0 {
			fmt.Fprintf(&xml, `<testcase classname="pkg.Class%d" name="test number %d" time="0.%03d"><failure message="boom">trace line 1&#10;trace line 2</failure></testcase>`, i%50, i, i%1000)
		} else {
			fmt.Fprintf(&xml, `<testcase classname="pkg.Class%d" name="test number %d" time="0.%03d"/>`, i%50, i, i%1000)
		}
	}
	xml.WriteString(`</testsuite></testsuites>`)
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write([]byte(xml.String()))
	w.Close()
	data := buf.Bytes()
	b.SetBytes(int64(xml.Len()))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if err := Parse(bytes.NewReader(data), Limits{}, func(ci.TestCase) error { n++; return nil }); err != nil || n != 10_000 {
			b.Fatalf("%d cases, %v", n, err)
		}
	}
}
