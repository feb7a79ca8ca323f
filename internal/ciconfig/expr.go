package ciconfig

import (
	"fmt"
	"regexp"
	"strings"
)

// An expression is a parsed rules:if / only:variables condition:
// $VAR, "string", 'string', null, /regex/flags, == != =~ !~ && || and ().
// && binds tighter than ||, as in GitLab.
type expression interface {
	eval(env map[string]string) value
}

type valueKind uint8

const (
	valNull valueKind = iota
	valString
	valBool
	valRegexp
)

type value struct {
	kind valueKind
	s    string
	b    bool
	re   *regexp.Regexp
}

func (v value) truthy() bool {
	switch v.kind {
	case valString:
		return v.s != ""
	case valBool:
		return v.b
	case valRegexp:
		return true
	}
	return false
}

func boolValue(b bool) value { return value{kind: valBool, b: b} }

type (
	varExpr   struct{ name string }
	constExpr struct{ v value }
	binExpr   struct {
		op          string
		left, right expression
	}
)

func (e varExpr) eval(env map[string]string) value {
	if s, ok := env[e.name]; ok {
		return value{kind: valString, s: s}
	}
	return value{}
}

func (e constExpr) eval(map[string]string) value { return e.v }

func (e binExpr) eval(env map[string]string) value {
	l := e.left.eval(env)
	switch e.op {
	case "&&":
		if !l.truthy() {
			return l
		}
		return e.right.eval(env)
	case "||":
		if l.truthy() {
			return l
		}
		return e.right.eval(env)
	}
	r := e.right.eval(env)
	switch e.op {
	case "==":
		return boolValue(equal(l, r))
	case "!=":
		return boolValue(!equal(l, r))
	case "=~":
		return boolValue(matches(l, r))
	case "!~":
		return boolValue(!matches(l, r))
	}
	return value{}
}

func equal(l, r value) bool {
	if l.kind != r.kind {
		return false
	}
	switch l.kind {
	case valString:
		return l.s == r.s
	case valBool:
		return l.b == r.b
	case valRegexp:
		return l.re.String() == r.re.String()
	}
	return true
}

// matches applies a regexp on the right to the left's text; a variable on
// the right is read as a /regex/ literal (GitLab 15.0+ behaviour).
func matches(l, r value) bool {
	text := ""
	if l.kind == valString {
		text = l.s
	}
	re := r.re
	if r.kind == valString {
		if !looksLikePattern(r.s) {
			// GitLab keeps a value that is not a /regex/ literal as a
			// string and scans it for the left side's text.
			return strings.Contains(r.s, text)
		}
		var err error
		if re, err = compilePattern(r.s); err != nil {
			return false
		}
	}
	if re == nil {
		return false
	}
	return re.MatchString(text)
}

const maxExprDepth = 50

// parseExpression parses a rules:if style expression.
func parseExpression(src string) (expression, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &exprParser{toks: toks}
	e, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos].text)
	}
	return e, nil
}

type token struct {
	kind string // var, const, op, (, )
	text string
	v    value
}

type exprParser struct {
	toks []token
	pos  int
}

func (p *exprParser) peekOp(op string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == "op" && p.toks[p.pos].text == op
}

func (p *exprParser) or(depth int) (expression, error) {
	left, err := p.and(depth)
	for err == nil && p.peekOp("||") {
		p.pos++
		var right expression
		if right, err = p.and(depth); err == nil {
			left = binExpr{op: "||", left: left, right: right}
		}
	}
	return left, err
}

func (p *exprParser) and(depth int) (expression, error) {
	left, err := p.comparison(depth)
	for err == nil && p.peekOp("&&") {
		p.pos++
		var right expression
		if right, err = p.comparison(depth); err == nil {
			left = binExpr{op: "&&", left: left, right: right}
		}
	}
	return left, err
}

func (p *exprParser) comparison(depth int) (expression, error) {
	left, err := p.primary(depth)
	if err != nil {
		return nil, err
	}
	for _, op := range []string{"==", "!=", "=~", "!~"} {
		if p.peekOp(op) {
			p.pos++
			right, err := p.primary(depth)
			if err != nil {
				return nil, err
			}
			if c, ok := right.(constExpr); ok && (op == "=~" || op == "!~") && c.v.kind != valRegexp {
				return nil, fmt.Errorf("%s needs a /regex/ or a variable on its right side", op)
			}
			return binExpr{op: op, left: left, right: right}, nil
		}
	}
	return left, nil
}

func (p *exprParser) primary(depth int) (expression, error) {
	if depth > maxExprDepth {
		return nil, fmt.Errorf("too many nested parentheses")
	}
	if p.pos >= len(p.toks) {
		return nil, fmt.Errorf("unexpected end of expression")
	}
	t := p.toks[p.pos]
	p.pos++
	switch t.kind {
	case "var":
		return varExpr{name: t.text}, nil
	case "const":
		return constExpr{v: t.v}, nil
	case "(":
		e, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != ")" {
			return nil, fmt.Errorf("missing closing parenthesis")
		}
		p.pos++
		return e, nil
	}
	return nil, fmt.Errorf("unexpected %q", t.text)
}

func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			toks = append(toks, token{kind: string(c), text: string(c)})
			i++
		case c == '$':
			name, n := lexVariable(src[i:])
			if name == "" {
				return nil, fmt.Errorf("invalid variable at %q", clip(src[i:]))
			}
			toks = append(toks, token{kind: "var", text: name})
			i += n
		case c == '"' || c == '\'':
			end := strings.IndexByte(src[i+1:], c)
			if end < 0 {
				return nil, fmt.Errorf("unterminated string at %q", clip(src[i:]))
			}
			s := src[i+1 : i+1+end]
			toks = append(toks, token{kind: "const", text: s, v: value{kind: valString, s: s}})
			i += end + 2
		case c == '/':
			lit, n := lexPattern(src[i:])
			if n == 0 {
				return nil, fmt.Errorf("unterminated regular expression at %q", clip(src[i:]))
			}
			re, err := compilePattern(lit)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: "const", text: lit, v: value{kind: valRegexp, re: re}})
			i += n
		case strings.HasPrefix(src[i:], "null"):
			toks = append(toks, token{kind: "const", text: "null"})
			i += 4
		default:
			op := ""
			for _, o := range []string{"==", "!=", "=~", "!~", "&&", "||"} {
				if strings.HasPrefix(src[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, fmt.Errorf("unexpected %q", clip(src[i:]))
			}
			toks = append(toks, token{kind: "op", text: op})
			i += 2
		}
	}
	return toks, nil
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// lexVariable reads $NAME or ${NAME} and returns the name and bytes consumed.
func lexVariable(s string) (string, int) {
	if strings.HasPrefix(s, "${") {
		end := strings.IndexByte(s, '}')
		if end < 3 {
			return "", 0
		}
		name := s[2:end]
		for i := 0; i < len(name); i++ {
			if !isWordByte(name[i]) {
				return "", 0
			}
		}
		return name, end + 1
	}
	n := 1
	for n < len(s) && isWordByte(s[n]) {
		n++
	}
	return s[1:n], n
}

// lexPattern reads /regex/flags (a backslash escapes the next byte) and
// returns the literal and bytes consumed, 0 when unterminated.
func lexPattern(s string) (string, int) {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '/':
			j := i + 1
			for j < len(s) && s[j] >= 'a' && s[j] <= 'z' {
				j++
			}
			return s[:j], j
		}
	}
	return "", 0
}

// compilePattern compiles a /regex/flags literal with Go's RE2 syntax.
// Flags: i (case-insensitive), m and s (dot matches newline, Ruby's /m).
func compilePattern(lit string) (*regexp.Regexp, error) {
	end := strings.LastIndexByte(lit, '/')
	if len(lit) < 2 || lit[0] != '/' || end < 1 {
		return nil, fmt.Errorf("invalid regular expression %q", clip(lit))
	}
	body := strings.ReplaceAll(lit[1:end], `\/`, "/")
	flags := ""
	for _, f := range lit[end+1:] {
		switch f {
		case 'i':
			flags += "i"
		case 'm', 's':
			flags += "s"
		default:
			return nil, fmt.Errorf("unsupported regular expression flag %q in %s", f, clip(lit))
		}
	}
	if flags != "" {
		body = "(?" + flags + ")" + body
	}
	re, err := regexp.Compile(body)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %s: %v", clip(lit), err)
	}
	return re, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// looksLikePattern reports whether s has the /regex/flags form.
func looksLikePattern(s string) bool {
	if len(s) < 2 || s[0] != '/' {
		return false
	}
	end := strings.LastIndexByte(s, '/')
	if end == 0 {
		return false
	}
	return strings.Trim(s[end+1:], "imx") == ""
}
