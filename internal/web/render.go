package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages maps a page name to its template: the layout plus the page's file.
type pages map[string]*template.Template

var funcs = template.FuncMap{
	"ago":       ago,
	"dur":       formatDuration,
	"short":     shortSHA,
	"size":      formatSize,
	"label":     statusLabel,
	"pathEsc":   escapePath,
	"finished":  func(s ci.Status) bool { return s.Finished() },
	"add":       func(a, b int) int { return a + b },
	"queryEsc":  url.QueryEscape,
	"lower":     strings.ToLower,
	"hasPrefix": strings.HasPrefix,
	"dict":      dict,
	"levelName": levelName,
}

// dict builds a map from alternating keys and values, for sub-templates.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

func mustParsePages() pages {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	ps := pages{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t := template.Must(layout.Clone())
		ps[strings.TrimSuffix(base, ".html")] = template.Must(t.ParseFS(templateFS, n))
	}
	return ps
}

// view is what every page template sees.
type view struct {
	Title       string
	User        *ci.User
	CSRF        string
	Project     *ci.Project
	ExternalURL string
	Version     string
	Path        string
	Data        any
}

// securityHeaders are set on every page: Baton's own pages run only its own
// script and cannot be framed.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

func (s *Server) render(c *req, status int, page, title string, data any) error {
	t, ok := s.pages[page]
	if !ok {
		return fmt.Errorf("rendering unknown page %q", page)
	}
	v := view{Title: title, User: c.user(), CSRF: c.csrfToken(), Project: c.proj,
		ExternalURL: s.ExternalURL, Version: s.Version, Path: withoutSecrets(c.r.URL), Data: data}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		return fmt.Errorf("rendering %s: %w", page, err)
	}
	h := c.w.Header()
	securityHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	c.w.WriteHeader(status)
	_, _ = c.w.Write(buf.Bytes())
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fail answers an error: sign-in for anonymous visitors of pages that need
// it, JSON for the UI's polling endpoints, an error page otherwise.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, c *req, err error) {
	status, msg := httpx.ErrorStatus(err)
	if status >= 500 {
		var ce *ci.Error
		if !errors.As(err, &ce) || ce.Kind == ci.KindInternal {
			s.Logger.ErrorContext(r.Context(), "web request failed", "request_id", httpx.RequestID(r.Context()),
				"method", r.Method, "path", r.URL.Path, "err", err)
		}
	}
	if strings.HasPrefix(r.URL.Path, "/-/ui/") {
		writeJSON(w, status, map[string]string{"message": msg})
		return
	}
	anonymous := c == nil || c.p == nil
	script := c != nil && c.script // a script's wrong token gets its 401, not the sign-in page
	if status == http.StatusUnauthorized && anonymous && !script && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		http.Redirect(w, r, "/-/sign_in?next="+url.QueryEscape(withoutSecrets(r.URL)), http.StatusSeeOther)
		return
	}
	if c == nil {
		c = &req{w: w, r: r}
	}
	if rerr := s.render(c, status, "error", http.StatusText(status), map[string]any{"Status": status, "Message": msg}); rerr != nil {
		s.Logger.Error("rendering error page", "err", rerr)
		http.Error(w, msg, status)
	}
}

func (s *Server) static(c *req, name string) error {
	data, err := staticFS.ReadFile("static/" + name)
	if err != nil || strings.Contains(name, "/") {
		return notFound()
	}
	h := c.w.Header()
	h.Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=300")
	http.ServeContent(c.w, c.r, name, time.Time{}, bytes.NewReader(data))
	return nil
}

// ago renders a time as "3 minutes ago" with the exact time on hover.
func ago(v any) template.HTML {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return ""
		}
		t = *x
	default:
		return ""
	}
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	return template.HTML(fmt.Sprintf(`<time datetime="%s" title="%s">%s</time>`,
		t.Format(time.RFC3339), t.Format("2006-01-02 15:04:05 UTC"), relative(time.Since(t))))
}

func relative(d time.Duration) string {
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < 45*time.Second:
		return "just now"
	case d < 90*time.Minute:
		s = plural(int(math.Round(d.Minutes())), "minute")
	case d < 36*time.Hour:
		s = plural(int(math.Round(d.Hours())), "hour")
	case d < 45*24*time.Hour:
		s = plural(int(math.Round(d.Hours()/24)), "day")
	case d < 550*24*time.Hour:
		s = plural(int(math.Round(d.Hours()/24/30)), "month")
	default:
		s = plural(int(math.Round(d.Hours()/24/365)), "year")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// formatDuration renders seconds as "42s", "3m 07s" or "1h 02m".
func formatDuration(sec float64) string {
	if sec <= 0 {
		return ""
	}
	d := time.Duration(sec * float64(time.Second)).Round(time.Second)
	h, m, sc := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %02dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm %02ds", m, sc)
	}
	return fmt.Sprintf("%ds", sc)
}

func shortSHA(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

func formatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// statusLabel is the word a status badge shows.
func statusLabel(s ci.Status) string {
	switch s {
	case ci.StatusSuccess:
		return "passed"
	case ci.StatusWaitingForResource:
		return "waiting"
	}
	return string(s)
}

// escapePath escapes each segment of a slash-separated path for a URL.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// withoutSecrets is u's request URI without token parameters, which must
// not travel on into redirects, pages or browser history.
func withoutSecrets(u *url.URL) string {
	c := *u
	q := c.Query()
	for _, k := range []string{"private_token", "job_token", "token"} {
		q.Del(k)
	}
	c.RawQuery = q.Encode()
	return c.RequestURI()
}
