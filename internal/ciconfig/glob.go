package ciconfig

import (
	"strings"
	"unicode/utf8"
)

// maxBraceAlternatives bounds the patterns one {a,b} glob expands to:
// nested braces multiply, and a configuration must not make the planner
// match millions of patterns against every changed file.
const maxBraceAlternatives = 256

// globMatch reports whether path matches pattern as GitLab's rules:changes
// and rules:exists match them: Ruby's File.fnmatch?(pattern, path,
// File::FNM_PATHNAME | File::FNM_DOTMATCH | File::FNM_EXTGLOB). So "*",
// "?" and "[...]" never match "/", "**/" matches zero or more whole
// directories, a leading dot needs no explicit match, {a,b} alternatives
// expand (nested too; an unclosed "{" matches nothing, as in Ruby), and
// "\" escapes the next character.
func globMatch(pattern, path string) bool { return compileGlob(pattern).match(path) }

// glob is a pattern with its {a,b} alternatives expanded once, for
// matching many paths.
type glob []string

// compileGlob expands pattern's braces; a pattern Ruby would match nothing
// with (an unclosed "{", too many alternatives) matches nothing.
func compileGlob(pattern string) glob {
	alts, ok := expandBraces(pattern, nil)
	if !ok {
		return nil
	}
	return alts
}

func (g glob) match(path string) bool {
	for _, alt := range g {
		if fnmatchPath(alt, path) {
			return true
		}
	}
	return false
}

// isGlob reports whether pattern has a character globMatch treats
// specially; a pattern without one matches only the path equal to it
// (backslash escapes aside).
func isGlob(pattern string) bool {
	return strings.ContainsAny(pattern, "*?[{\\")
}

// expandBraces expands the first top-level {...} of s and, recursively,
// the rest (Ruby's ruby_brace_expand), appending to out. ok is false for
// an unbalanced "{" (Ruby then matches nothing) or when the alternatives
// would pass maxBraceAlternatives.
func expandBraces(s string, out []string) ([]string, bool) {
	lbrace, rbrace, nest := -1, -1, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '{' {
			if nest == 0 {
				lbrace = i
			}
			nest++
		}
		if c == '}' && lbrace >= 0 {
			nest--
			if nest == 0 {
				rbrace = i
				break
			}
		}
		if c == '\\' {
			i++
		}
	}
	switch {
	case lbrace < 0:
		return append(out, s), len(out) < maxBraceAlternatives
	case rbrace < 0:
		return out, false
	}
	prefix, suffix := s[:lbrace], s[rbrace+1:]
	p := lbrace
	for p < rbrace {
		p++
		t := p
		nest = 0
		for p < rbrace && !(s[p] == ',' && nest == 0) {
			switch s[p] {
			case '{':
				nest++
			case '}':
				nest--
			case '\\':
				if p+1 < rbrace {
					p++
				}
			}
			p++
		}
		var ok bool
		if out, ok = expandBraces(prefix+s[t:p]+suffix, out); !ok {
			return out, false
		}
	}
	return out, true
}

// fnmatchPath is Ruby's fnmatch with FNM_PATHNAME: segment by segment,
// "**/" trying each directory depth in turn.
func fnmatchPath(p, s string) bool {
	ptmp, stmp := -1, -1
	pi, si := 0, 0
	for {
		if strings.HasPrefix(p[pi:], "**/") {
			for strings.HasPrefix(p[pi:], "**/") {
				pi += 3
			}
			ptmp, stmp = pi, si
		}
		if np, ns, ok := fnmatchSegment(p, pi, s, si); ok {
			for ns < len(s) && s[ns] != '/' {
				ns++
			}
			if np < len(p) && ns < len(s) {
				pi, si = np+1, ns+1
				continue
			}
			if np == len(p) && ns == len(s) {
				return true
			}
		}
		// Let the last "**/" swallow one more directory.
		if ptmp >= 0 {
			for stmp < len(s) && s[stmp] != '/' {
				stmp++
			}
			if stmp < len(s) {
				stmp++
				pi, si = ptmp, stmp
				continue
			}
		}
		return false
	}
}

// fnmatchSegment matches one path segment of pattern p (from pi) against
// s (from si), as Ruby's fnmatch_helper with FNM_PATHNAME|FNM_DOTMATCH:
// it returns where each stopped ("/" or the end) and whether they matched.
func fnmatchSegment(p string, pi int, s string, si int) (int, int, bool) {
	segEnd := func(str string, i int) bool { return i >= len(str) || str[i] == '/' }
	unescape := func(i int) int {
		if i < len(p) && p[i] == '\\' {
			return i + 1
		}
		return i
	}
	ptmp, stmp := -1, -1
	for {
		if pi < len(p) {
			switch p[pi] {
			case '*':
				for pi < len(p) && p[pi] == '*' {
					pi++
				}
				if segEnd(p, unescape(pi)) {
					return unescape(pi), si, true
				}
				if segEnd(s, si) {
					return pi, si, false
				}
				ptmp, stmp = pi, si
				continue
			case '?':
				if segEnd(s, si) {
					return pi, si, false
				}
				pi++
				si += runeLen(s, si)
				continue
			case '[':
				if segEnd(s, si) {
					return pi, si, false
				}
				if t, ok := bracket(p, pi+1, s, si); ok {
					pi = t
					si += runeLen(s, si)
					continue
				}
				goto failed
			}
		}
		pi = unescape(pi)
		if segEnd(s, si) {
			return pi, si, segEnd(p, pi)
		}
		if segEnd(p, pi) {
			goto failed
		}
		if n := runeLen(p, pi); si+n <= len(s) && p[pi:pi+n] == s[si:si+n] {
			pi += n
			si += n
			continue
		}
	failed:
		if ptmp >= 0 {
			pi = ptmp
			stmp += runeLen(s, stmp)
			si = stmp
			continue
		}
		return pi, si, false
	}
}

// bracket matches s[si] against the bracket expression starting at p[pi]
// (after "["), returning the index after its "]". A "[" without "]"
// matches nothing, as in Ruby.
func bracket(p string, pi int, s string, si int) (int, bool) {
	if pi >= len(p) {
		return 0, false
	}
	c, _ := utf8.DecodeRuneInString(s[si:])
	not, ok := false, false
	if p[pi] == '!' || p[pi] == '^' {
		not = true
		pi++
	}
	for pi < len(p) && p[pi] != ']' {
		if p[pi] == '\\' {
			pi++
		}
		if pi >= len(p) {
			return 0, false
		}
		lo, n := utf8.DecodeRuneInString(p[pi:])
		pi += n
		if pi >= len(p) {
			return 0, false
		}
		hi := lo
		if p[pi] == '-' && pi+1 < len(p) && p[pi+1] != ']' {
			pi++
			if p[pi] == '\\' {
				pi++
			}
			if pi >= len(p) {
				return 0, false
			}
			hi, n = utf8.DecodeRuneInString(p[pi:])
			pi += n
		}
		if c == lo || c == hi || lo <= c && c <= hi {
			ok = true
		}
	}
	if pi >= len(p) {
		return 0, false
	}
	return pi + 1, ok != not
}

func runeLen(s string, i int) int {
	if i >= len(s) {
		return 1
	}
	_, n := utf8.DecodeRuneInString(s[i:])
	return n
}
