package web

import (
	"net/url"
	"strings"
	"testing"
	"unicode"
)

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct {
		next, want string
	}{
		{"", "/"},
		{"/", "/"},
		{"/root/app", "/root/app"},
		{"/root/app/-/pipelines?status=success&ref=main", "/root/app/-/pipelines?status=success&ref=main"},
		{"/root/app/-/jobs/artifacts/main/raw/a%20b.txt?job=build", "/root/app/-/jobs/artifacts/main/raw/a%20b.txt?job=build"},
		{"/root/app#L10", "/root/app#L10"},
		{"/héllo", "/héllo"},
		// Absolute and scheme-relative URLs.
		{"https://evil.example/", "/"},
		{"http:evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"/a\\b", "/"},
		{"root/app", "/"},
		{" /root", "/"},
		// Control characters, ASCII and Unicode.
		{"/\t/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\r/evil.example", "/"},
		{"/\x00", "/"},
		{"/\x7f", "/"},
		{"/a\x1b[31m", "/"},
		{"/\u0085", "/"},          // next line
		{"/\u2028evil", "/"},      // line separator
		{"/\u2029evil", "/"},      // paragraph separator
		{"/\u200bevil", "/"},      // zero width space
		{"/\u202eevil", "/"},      // right-to-left override
		{"/\ufeffevil", "/"},      // byte order mark
		{"/\u00a0evil", "/"},      // no-break space
		{"/\xff\xfe", "/"},        // not UTF-8
		{"/%2F%2Fevil", "/"},      // decodes to ///evil
		{"/%2fevil.example", "/"}, // decodes to //evil.example
		{"/%5Cevil", "/"},         // decodes to /\evil
		{"/%5cevil", "/"},
		{"/a%5Cb", "/"},
		{"/%252F%252Fevil", "/"}, // decoded twice
		{"/%09/evil", "/"},       // encoded tab
		{"/%0d%0aSet-Cookie:x", "/"},
		{"/%00", "/"},
		{"/%E2%80%A8", "/"}, // encoded line separator
		{"/%zz", "/"},       // malformed
		{"/%", "/"},
		{"/" + strings.Repeat("a", 5000), "/"},
	} {
		if got := SafeNext(tc.next); got != tc.want {
			t.Errorf("SafeNext(%q) = %q, want %q", tc.next, got, tc.want)
		}
	}
}

// FuzzSafeNext checks SafeNext's promise on any input: "/" or a path on
// this origin that no decoding turns into another origin.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/root/app?x=1#y", "//evil", "/\\evil", "/%2F%2Fevil", "/%5Cevil", "https://e.x", "/\t", "/\u2028", "/%25%32%46"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := SafeNext(next)
		if got == "/" {
			return
		}
		if got != next {
			t.Fatalf("SafeNext(%q) = %q: neither the input nor /", next, got)
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") {
			t.Fatalf("SafeNext(%q) = %q: not a single-slash path", next, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || r == '\\' {
				t.Fatalf("SafeNext(%q) = %q holds %U", next, got, r)
			}
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil {
			t.Fatalf("SafeNext(%q) = %q parses to %#v, %v", next, got, u, err)
		}
		// Decoded once more, as a browser or proxy might, it still stays here.
		if dec, err := url.PathUnescape(got); err == nil {
			if strings.HasPrefix(dec, "//") || strings.ContainsRune(dec, '\\') {
				t.Fatalf("SafeNext(%q) = %q decodes to %q", next, got, dec)
			}
			if r, err := url.Parse(dec); err == nil && (r.Scheme != "" || r.Host != "") {
				t.Fatalf("SafeNext(%q) = %q decodes to %q, another origin", next, got, dec)
			}
		}
	})
}
