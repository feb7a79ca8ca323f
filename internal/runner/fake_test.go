package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeCoordinator implements the coordinator side of the runner protocol
// and fails the test on anything a GitLab-compatible server would reject.
type fakeCoordinator struct {
	t           *testing.T
	srv         *httptest.Server
	runnerToken string

	mu          sync.Mutex
	queue       []map[string]any
	jobs        map[int64]*fakeJob
	requests    int      // POST /jobs/request calls with a valid token
	forbidden   int      // POST /jobs/request calls answered 403
	lastUpdates []string // last_update values received
	version     int
	depArchives map[int64][]byte // GET /jobs/:id/artifacts, served through a 302
	depTokens   map[int64]string

	// patchHook may answer a trace patch itself (after it was validated);
	// returning 0 lets the fake handle it.
	patchHook func(j *fakeJob, start int, data []byte) int
	// updateHook may answer a PUT itself (the body is recorded first).
	updateHook func(j *fakeJob, body map[string]any) int
	// failRequests answers that many job requests with 502 first.
	failRequests int
	// redirectUpload answers the first upload with 307 to the same server under the name localhost.
	redirectUpload bool
	uploadHosts    []string
	// uploadCode, when set, answers artifact uploads instead of 201.
	uploadCode int
	// failUploads drops that many upload requests first, mid-body, as a
	// coordinator killed during the upload; failUploadCode, when set,
	// answers them with that status instead.
	failUploads    int
	failUploadCode int
	uploadTries    int // upload requests received
}

// fakeJob is the server's view of one job.
type fakeJob struct {
	id        int64
	token     string
	trace     []byte
	updates   []map[string]any // PUT bodies in order
	uploads   []fakeUpload
	canceling bool // answer Job-Status: canceling
	forbidden bool // answer 403 (hard cancel)
	done      chan struct{}
}

type fakeUpload struct {
	query    url.Values
	filename string
	data     []byte
}

func newFakeCoordinator(t *testing.T) *fakeCoordinator {
	f := &fakeCoordinator{t: t, runnerToken: "runner-token-1234567", jobs: map[int64]*fakeJob{},
		depArchives: map[int64][]byte{}, depTokens: map[int64]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v4/jobs/request", f.request)
	mux.HandleFunc("PUT /api/v4/jobs/{id}", f.update)
	mux.HandleFunc("PATCH /api/v4/jobs/{id}/trace", f.patch)
	mux.HandleFunc("POST /api/v4/jobs/{id}/artifacts", f.upload)
	mux.HandleFunc("GET /api/v4/jobs/{id}/artifacts", f.download)
	mux.HandleFunc("GET /storage/{id}", f.storage)
	mux.HandleFunc("POST /api/v4/runners", f.register)
	mux.HandleFunc("POST /api/v4/runners/verify", f.verify)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// enqueue adds a job payload; it returns the server's record of the job.
func (f *fakeCoordinator) enqueue(p map[string]any) *fakeJob {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := int64(p["id"].(int))
	j := &fakeJob{id: id, token: p["token"].(string), done: make(chan struct{})}
	f.jobs[id] = j
	f.queue = append(f.queue, p)
	f.version++
	return j
}

func (f *fakeCoordinator) job(w http.ResponseWriter, r *http.Request) *fakeJob {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	f.mu.Lock()
	j := f.jobs[id]
	f.mu.Unlock()
	if j == nil {
		http.Error(w, `{"message":"404 Not found"}`, http.StatusNotFound)
		return nil
	}
	if got := r.Header.Get("JOB-TOKEN"); got != j.token {
		f.t.Errorf("%s %s: JOB-TOKEN = %q, want %q", r.Method, r.URL.Path, got, j.token)
		http.Error(w, `{"message":"403 Forbidden"}`, http.StatusForbidden)
		return nil
	}
	return j
}

func (f *fakeCoordinator) request(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Info       info   `json:"info"`
		Token      string `json:"token"`
		SystemID   string `json:"system_id"`
		LastUpdate string `json:"last_update"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.t.Errorf("jobs/request: decoding body: %v", err)
	}
	if r.Header.Get("RUNNER-TOKEN") != f.runnerToken || body.Token != f.runnerToken {
		f.mu.Lock()
		f.forbidden++
		f.mu.Unlock()
		w.WriteHeader(http.StatusForbidden)
		return
	}
	if body.Info.Executor != "shell" || body.Info.Shell != "bash" || !body.Info.Features["cancel_gracefully"] ||
		!body.Info.Features["two_phase_job_commit"] || !body.Info.Features["trace_checksum"] || len(body.Info.Features) != 31 {
		f.t.Errorf("jobs/request: unexpected info %+v", body.Info)
	}
	if !strings.HasPrefix(body.SystemID, "s_") && !strings.HasPrefix(body.SystemID, "r_") {
		f.t.Errorf("jobs/request: system_id %q", body.SystemID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failRequests > 0 {
		f.failRequests--
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	f.requests++
	f.lastUpdates = append(f.lastUpdates, body.LastUpdate)
	w.Header().Set("X-GitLab-Last-Update", fmt.Sprintf("v%d", f.version))
	if len(f.queue) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	p := f.queue[0]
	f.queue = f.queue[1:]
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(p)
}

func (f *fakeCoordinator) update(w http.ResponseWriter, r *http.Request) {
	j := f.job(w, r)
	if j == nil {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("PUT: Content-Type %q", ct)
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.t.Errorf("PUT: decoding body: %v", err)
	}
	if body["token"] != j.token {
		f.t.Errorf("PUT: body token %v", body["token"])
	}
	if _, ok := body["output"].(map[string]any); !ok {
		f.t.Errorf("PUT: output missing in %v", body)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if j.forbidden {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	j.updates = append(j.updates, body)
	if f.updateHook != nil {
		if code := f.updateHook(j, body); code != 0 {
			w.WriteHeader(code)
			return
		}
	}
	if j.canceling {
		w.Header().Set("Job-Status", "canceling")
	} else {
		w.Header().Set("Job-Status", "running")
	}
	if body["state"] != "running" {
		select {
		case <-j.done:
			f.t.Errorf("PUT: second final update %v", body)
		default:
			close(j.done)
		}
	}
	w.WriteHeader(http.StatusOK)
}

var contentRange = regexp.MustCompile(`^(\d+)-(\d+)$`)

func (f *fakeCoordinator) patch(w http.ResponseWriter, r *http.Request) {
	j := f.job(w, r)
	if j == nil {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/plain" {
		f.t.Errorf("PATCH: Content-Type %q", ct)
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return // the runner gave up on this request (its context ended mid-body)
	}
	m := contentRange.FindStringSubmatch(r.Header.Get("Content-Range"))
	if m == nil {
		f.t.Errorf("PATCH: Content-Range %q", r.Header.Get("Content-Range"))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	start, _ := strconv.Atoi(m[1])
	end, _ := strconv.Atoi(m[2])
	if end != start+len(data)-1 || len(data) == 0 || len(data) > 1<<20 {
		f.t.Errorf("PATCH: Content-Range %q for %d bytes", m[0], len(data))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if j.forbidden {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	if start != len(j.trace) {
		w.Header().Set("Range", fmt.Sprintf("0-%d", len(j.trace)))
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return
	}
	if f.patchHook != nil {
		if code := f.patchHook(j, start, data); code != 0 {
			w.WriteHeader(code)
			return
		}
	}
	j.trace = append(j.trace, data...)
	if j.canceling {
		w.Header().Set("Job-Status", "canceling")
	}
	w.Header().Set("Range", fmt.Sprintf("0-%d", len(j.trace)))
	w.WriteHeader(http.StatusAccepted)
}

func (f *fakeCoordinator) upload(w http.ResponseWriter, r *http.Request) {
	j := f.job(w, r)
	if j == nil {
		return
	}
	f.mu.Lock()
	redirect := f.redirectUpload
	f.redirectUpload = false
	f.uploadHosts = append(f.uploadHosts, r.Host)
	f.uploadTries++
	fail := f.failUploads > 0
	if fail {
		f.failUploads--
	}
	failCode := f.failUploadCode
	f.mu.Unlock()
	if fail {
		_, _ = io.CopyN(io.Discard, r.Body, 1024)
		if failCode != 0 {
			http.Error(w, `{"message":"failing"}`, failCode)
			return
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			f.t.Errorf("upload: hijacking: %v", err)
			return
		}
		conn.Close()
		return
	}
	if redirect {
		u := *r.URL
		u.Scheme, u.Host = "http", strings.Replace(f.srv.Listener.Addr().String(), "127.0.0.1", "localhost", 1)
		http.Redirect(w, r, u.String(), http.StatusTemporaryRedirect)
		return
	}
	if r.ContentLength != -1 || len(r.TransferEncoding) == 0 || r.TransferEncoding[0] != "chunked" {
		f.t.Errorf("upload: not chunked (length %d, encoding %v)", r.ContentLength, r.TransferEncoding)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		f.t.Errorf("upload: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var up fakeUpload
	up.query = r.URL.Query()
	parts := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			f.t.Errorf("upload: reading part: %v", err)
			return
		}
		parts++
		_, params, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		if part.FormName() != "file" || part.Header.Get("Content-Type") != "application/octet-stream" {
			f.t.Errorf("upload: unexpected part %v", part.Header)
		}
		up.filename = params["filename"]
		up.data, _ = io.ReadAll(part)
	}
	if parts != 1 {
		f.t.Errorf("upload: %d parts, want 1", parts)
	}
	f.mu.Lock()
	j.uploads = append(j.uploads, up)
	code := f.uploadCode
	f.mu.Unlock()
	if code != 0 {
		http.Error(w, `{"message":"too large"}`, code)
		return
	}
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte("201"))
}

func (f *fakeCoordinator) download(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	f.mu.Lock()
	data, ok := f.depArchives[id]
	tok := f.depTokens[id]
	f.mu.Unlock()
	if r.Header.Get("JOB-TOKEN") != tok {
		f.t.Errorf("download: JOB-TOKEN %q, want %q", r.Header.Get("JOB-TOKEN"), tok)
		w.WriteHeader(http.StatusForbidden)
		return
	}
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if r.URL.Query().Get("direct_download") == "true" {
		http.Redirect(w, r, "/storage/"+r.PathValue("id"), http.StatusFound)
		return
	}
	_, _ = io.Copy(w, bytes.NewReader(data))
}

func (f *fakeCoordinator) storage(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	f.mu.Lock()
	data := f.depArchives[id]
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/zip")
	_, _ = w.Write(data)
}

func (f *fakeCoordinator) register(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	if body["token"] != "reg-token" {
		http.Error(w, `{"message":"403 Forbidden"}`, http.StatusForbidden)
		return
	}
	if body["tag_list"] != "linux,docker" || body["run_untagged"] != false || body["locked"] != true || body["description"] != "my runner" {
		f.t.Errorf("register: body %v", body)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(`{"id":7,"token":"auth-token-7","token_expires_at":null}`))
}

func (f *fakeCoordinator) verify(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	if body["token"] != "glrt-good" {
		http.Error(w, `{"message":"403 Forbidden"}`, http.StatusForbidden)
		return
	}
	if s, _ := body["system_id"].(string); s == "" {
		f.t.Errorf("verify: no system_id")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write([]byte(`{"id":8,"token":"glrt-good","token_expires_at":null}`))
}

// snapshot returns copies of a job's trace, updates and uploads.
func (f *fakeCoordinator) snapshot(j *fakeJob) (string, []map[string]any, []fakeUpload) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return string(j.trace), append([]map[string]any(nil), j.updates...), append([]fakeUpload(nil), j.uploads...)
}

func (f *fakeCoordinator) requestCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}
