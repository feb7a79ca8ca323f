package archive

import (
	"strings"
	"unicode/utf8"

	"github.com/batonci/baton/internal/ci"
)

// CleanPath turns a path taken from a request into the form the index uses:
// relative, slash-separated, without a leading "./", without "." segments,
// duplicate slashes or a trailing slash. "", "." and "./" become "" (the
// archive's root). A path with a ".." segment, a leading "/", a drive letter,
// a backslash or a NUL byte is KindInvalid: such a path could never name an
// entry, because Build refuses archives containing one.
func CleanPath(p string) (string, error) {
	if reason := unsafeReason(p); reason != "" {
		return "", ci.Errorf(ci.KindInvalid, "path '%s' is invalid: %s", p, reason)
	}
	return cleanSegments(p), nil
}

// unsafeReason says why p may escape the archive, or "" when it cannot.
func unsafeReason(p string) string {
	switch {
	case strings.IndexByte(p, 0) >= 0:
		return "it contains a NUL byte"
	case strings.IndexByte(p, '\\') >= 0:
		return "it contains a backslash"
	case strings.HasPrefix(p, "/"):
		return "it is absolute"
	case len(p) >= 2 && p[1] == ':' && isASCIILetter(p[0]):
		return "it starts with a drive letter"
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." {
			return "it contains a '..' segment"
		}
	}
	return ""
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// cleanSegments drops empty and "." segments of an already safe path.
func cleanSegments(p string) string {
	if !strings.Contains(p, "//") && !strings.HasPrefix(p, "./") && !strings.Contains(p, "/./") &&
		!strings.HasSuffix(p, "/") && !strings.HasSuffix(p, "/.") && p != "." {
		return p
	}
	var b strings.Builder
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		b.WriteString(seg)
	}
	return b.String()
}

// cleanEntryName validates and normalises a zip entry name. It reports
// whether the name marks a directory (a trailing slash). An unsafe name is
// KindInvalid and names the entry: an upload that could write outside its
// extraction directory is refused as a whole.
func cleanEntryName(name string) (clean string, dir bool, err error) {
	if reason := unsafeReason(name); reason != "" {
		return "", false, ci.Errorf(ci.KindInvalid,
			"artifact archive entry '%s' is refused: %s", printable(name), reason)
	}
	return cleanSegments(name), strings.HasSuffix(name, "/"), nil
}

// printable makes a name safe to put in a message.
func printable(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", `\0`), "?")
}

// decodeName interprets raw zip name bytes. With the UTF-8 flag set the name
// must be valid UTF-8. Without it, a name that is valid UTF-8 is taken as such
// (most tools write UTF-8 without setting the flag, which archive/zip also
// tolerates); anything else is decoded as IBM code page 437, the format's
// historical default.
func decodeName(raw []byte, utf8Flag bool) (string, bool) {
	if utf8.Valid(raw) {
		return string(raw), true
	}
	if utf8Flag {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(raw) * 2)
	for _, c := range raw {
		if c < 0x80 {
			b.WriteByte(c)
		} else {
			b.WriteRune(cp437High[c-0x80])
		}
	}
	return b.String(), true
}

// cp437High maps bytes 0x80-0xFF of code page 437 to Unicode.
var cp437High = [128]rune{
	'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å',
	'É', 'æ', 'Æ', 'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', '¢', '£', '¥', '₧', 'ƒ',
	'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'ª', 'º', '¿', '⌐', '¬', '½', '¼', '¡', '«', '»',
	'░', '▒', '▓', '│', '┤', '╡', '╢', '╖', '╕', '╣', '║', '╗', '╝', '╜', '╛', '┐',
	'└', '┴', '┬', '├', '─', '┼', '╞', '╟', '╚', '╔', '╩', '╦', '╠', '═', '╬', '╧',
	'╨', '╤', '╥', '╙', '╘', '╒', '╓', '╫', '╪', '┘', '┌', '█', '▄', '▌', '▐', '▀',
	'α', 'ß', 'Γ', 'π', 'Σ', 'σ', 'µ', 'τ', 'Φ', 'Θ', 'Ω', 'δ', '∞', 'φ', 'ε', '∩',
	'≡', '±', '≥', '≤', '⌠', '⌡', '÷', '≈', '°', '∙', '·', '√', 'ⁿ', '²', '■', '\u00a0',
}
