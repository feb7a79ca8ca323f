package archive

import (
	"testing"

	"github.com/batonci/baton/internal/ci"
)

func TestCleanPath(t *testing.T) {
	tests := []struct {
		name, in, want string
		invalid        bool
	}{
		{name: "root empty", in: "", want: ""},
		{name: "root dot", in: ".", want: ""},
		{name: "root dot slash", in: "./", want: ""},
		{name: "plain", in: "a/b.txt", want: "a/b.txt"},
		{name: "leading dot slash", in: "./a/b", want: "a/b"},
		{name: "duplicate slashes", in: "a//b///c", want: "a/b/c"},
		{name: "inner dot", in: "a/./b", want: "a/b"},
		{name: "trailing slash", in: "coverage/", want: "coverage"},
		{name: "unicode", in: "rapports/été.txt", want: "rapports/été.txt"},
		{name: "dots in names are fine", in: "a/..b/c..", want: "a/..b/c.."},
		{name: "dotdot", in: "../etc/passwd", invalid: true},
		{name: "inner dotdot", in: "a/../../b", invalid: true},
		{name: "trailing dotdot", in: "a/..", invalid: true},
		{name: "absolute", in: "/etc/passwd", invalid: true},
		{name: "backslash", in: `a\b`, invalid: true},
		{name: "NUL", in: "a\x00b", invalid: true},
		{name: "drive letter", in: "C:/Windows", invalid: true},
		{name: "drive letter relative", in: "c:x", invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CleanPath(tt.in)
			if tt.invalid {
				if ci.KindOf(err) != ci.KindInvalid {
					t.Fatalf("CleanPath(%q) = %q, %v; want KindInvalid", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("CleanPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestDecodeName(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
		flag bool
		want string
		ok   bool
	}{
		{name: "ascii", raw: []byte("a.txt"), want: "a.txt", ok: true},
		{name: "utf8 flagged", raw: []byte("日本.txt"), flag: true, want: "日本.txt", ok: true},
		{name: "utf8 unflagged", raw: []byte("é.txt"), want: "é.txt", ok: true},
		{name: "cp437 fallback", raw: []byte{0x82, 't', 0x94}, want: "étö", ok: true},
		{name: "invalid but flagged", raw: []byte{0xff, 0xfe}, flag: true, ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := decodeName(tt.raw, tt.flag)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("decodeName(%q, %v) = %q, %v; want %q, %v", tt.raw, tt.flag, got, ok, tt.want, tt.ok)
			}
		})
	}
}
