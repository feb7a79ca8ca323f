package httpx

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Metrics counts HTTP requests for GET /metrics, in Prometheus' text format.
// It is deliberately small: requests by method and status, and a latency
// histogram. Safe for concurrent use.
type Metrics struct {
	// Token, if set, must come as "Authorization: Bearer <Token>" for
	// ServeHTTP to answer; other requests get 401. Set it before serving.
	Token string

	start   time.Time
	mu      sync.Mutex
	counts  map[[2]string]uint64 // {method, code} → requests
	buckets []uint64             // cumulative counts per latencyBounds entry
	sum     float64              // seconds
	total   uint64
}

// bearer reports whether r carries "Authorization: Bearer <token>",
// compared in constant time.
func bearer(r *http.Request, token string) bool {
	v := r.Header.Get("Authorization")
	if len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(v[7:])))
	want := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

var latencyBounds = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60}

// NewMetrics returns empty metrics.
func NewMetrics() *Metrics {
	return &Metrics{start: time.Now(), counts: map[[2]string]uint64{}, buckets: make([]uint64, len(latencyBounds))}
}

func (m *Metrics) observe(method string, code int, d time.Duration) {
	if m == nil {
		return
	}
	secs := d.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts[[2]string{method, strconv.Itoa(code)}]++
	for i, b := range latencyBounds {
		if secs <= b {
			m.buckets[i]++
		}
	}
	m.sum += secs
	m.total++
}

// ServeHTTP writes the metrics.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m.Token != "" && !bearer(r, m.Token) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
		http.Error(w, "401 Unauthorized: GET /metrics needs the metrics token as a bearer token", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([][2]string, 0, len(m.counts))
	for k := range m.counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
	})
	fmt.Fprintln(w, "# HELP baton_http_requests_total HTTP requests served, by method and status code.")
	fmt.Fprintln(w, "# TYPE baton_http_requests_total counter")
	for _, k := range keys {
		fmt.Fprintf(w, "baton_http_requests_total{method=%q,code=%q} %d\n", k[0], k[1], m.counts[k])
	}
	fmt.Fprintln(w, "# HELP baton_http_request_duration_seconds Time to serve HTTP requests.")
	fmt.Fprintln(w, "# TYPE baton_http_request_duration_seconds histogram")
	for i, b := range latencyBounds {
		fmt.Fprintf(w, "baton_http_request_duration_seconds_bucket{le=\"%g\"} %d\n", b, m.buckets[i])
	}
	fmt.Fprintf(w, "baton_http_request_duration_seconds_bucket{le=\"+Inf\"} %d\n", m.total)
	fmt.Fprintf(w, "baton_http_request_duration_seconds_sum %g\n", m.sum)
	fmt.Fprintf(w, "baton_http_request_duration_seconds_count %d\n", m.total)
	fmt.Fprintln(w, "# HELP baton_uptime_seconds Seconds since the server started.")
	fmt.Fprintln(w, "# TYPE baton_uptime_seconds gauge")
	_, _ = io.WriteString(w, fmt.Sprintf("baton_uptime_seconds %g\n", time.Since(m.start).Seconds()))
}
