// Package httpx is the HTTP plumbing Baton's surfaces share: reading GitLab-style
// parameters with a bounded body, writing JSON and GitLab's error bodies from
// error kinds (the one kind→status mapping), the request log with request ids,
// path traversal rejection and request metrics. The API, the runner API, the
// web UI and git hosting import it as siblings; none imports another.
package httpx
