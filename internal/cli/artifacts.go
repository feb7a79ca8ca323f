package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
)

// artifactsFlags are the flags of the reading artifacts commands.
type artifactsFlags struct {
	common
	scope
	output string
}

func (a *artifactsFlags) parse(name, synopsis string, args []string, env Env, min, max int, withOutput bool) ([]string, *client, error) {
	fl := flag.NewFlagSet("artifacts "+name, flag.ContinueOnError)
	a.common.bind(fl)
	a.scope.bind(fl)
	if withOutput {
		fl.StringVar(&a.output, "output", "", "file to write (default: the file's or archive's name; - for standard output)")
	}
	fl.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: baton artifacts %s %s\n", name, synopsis)
		fl.PrintDefaults()
	}
	pos, err := parseArgs(fl, args, env, min, max)
	if err != nil {
		return nil, nil, err
	}
	if err := a.scope.complete(env); err != nil {
		return nil, nil, err
	}
	cr, err := resolve(a.common, env)
	if err != nil {
		return nil, nil, err
	}
	return pos, newClient(cr, env), nil
}

// artifactsGet is `baton artifacts get [PATH]`: the archive, or one file.
func artifactsGet(ctx context.Context, args []string, env Env) error {
	var a artifactsFlags
	pos, c, err := a.parse("get", "[PATH] --job NAME [--pipeline ID | --commit SHA | --ref REF] [--output FILE]", args, env, 0, 1, true)
	if err != nil {
		return err
	}
	k, file := kindArchive, ""
	if len(pos) == 1 {
		k, file = kindRaw, pos[0]
	}
	t, err := download(ctx, c, &a.scope, k, file, a.output, a.json)
	if err != nil {
		return err
	}
	return report(env, a.json, t)
}

// artifactsCat is `baton artifacts cat PATH`: one file to standard output.
func artifactsCat(ctx context.Context, args []string, env Env) error {
	var a artifactsFlags
	pos, c, err := a.parse("cat", "PATH --job NAME [--pipeline ID | --commit SHA | --ref REF]", args, env, 1, 1, false)
	if err != nil {
		return err
	}
	t, err := download(ctx, c, &a.scope, kindRaw, pos[0], "-", true)
	if err != nil {
		return err
	}
	return report(env, a.json, t) // with --json: the transfer on standard error
}

// report prints a finished download.
func report(env Env, jsonOut bool, t *transfer) error {
	if jsonOut {
		if t.Output == "-" {
			return writeJSON(env.Stderr, t)
		}
		return writeJSON(env.Stdout, t)
	}
	if t.Output == "-" {
		return nil
	}
	verified := "SHA-256 verified"
	if !t.Verified {
		verified = "NOT verified: the server named no digest"
	}
	fmt.Fprintf(env.Stderr, "%s: %d bytes, sha256 %s (%s)\n", t.Output, t.Size, t.SHA256, verified)
	return nil
}

// manifestEntry is one file of the manifest route.
type manifestEntry struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	Mode   string `json:"mode"`
	SHA256 string `json:"sha256,omitempty"`
}

// artifactsLs is `baton artifacts ls`: every file with size and SHA-256.
func artifactsLs(ctx context.Context, args []string, env Env) error {
	var a artifactsFlags
	_, c, err := a.parse("ls", "--job NAME [--pipeline ID | --commit SHA | --ref REF]", args, env, 0, 0, false)
	if err != nil {
		return err
	}
	s := a.scope
	if s.ref != "" {
		// The ref routes have no manifest: find the job they choose, then
		// read its manifest.
		id, err := chosenJob(ctx, c, &s)
		if err != nil {
			return err
		}
		s = scope{project: s.project, job: strconv.FormatInt(id, 10), artifact: s.artifact}
	}
	resp, err := s.withWait(ctx, c, func(waitSecs int) (*http.Request, error) {
		p, err := s.path(kindManifest, "", waitSecs)
		if err != nil {
			return nil, err
		}
		return c.request(ctx, http.MethodGet, p, nil)
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var files []manifestEntry
	if err := json.NewDecoder(resp.Body).Decode(&files); err != nil {
		return exitf(ExitServer, "reading the manifest: %v", err)
	}
	if a.json {
		return writeJSON(env.Stdout, files)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	for _, f := range files {
		sum := f.SHA256
		if sum == "" {
			sum = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t %s\t %s\t\n", f.Mode, f.Size, sum, f.Path)
	}
	return tw.Flush()
}

func clientFor(c common, env Env) (*client, error) {
	cr, err := resolve(c, env)
	if err != nil {
		return nil, err
	}
	return newClient(cr, env), nil
}

// chosenJob asks which job the scope's archive route chooses (the
// X-Baton-Job-Id header), waiting as the scope says.
func chosenJob(ctx context.Context, c *client, s *scope) (int64, error) {
	resp, _, err := probe(ctx, c, s, kindArchive, "")
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseInt(resp.Header.Get("X-Baton-Job-Id"), 10, 64)
	if err != nil {
		return 0, exitf(ExitServer, "the server did not say which job it chose (no X-Baton-Job-Id): is it Baton?")
	}
	return id, nil
}

// probe asks for k without reading it, waiting as the scope says: a GET
// of its first byte (not HEAD: only a body says why a 404 is, and so
// whether waiting can help). It returns the answer, whose body is closed,
// and the full size.
func probe(ctx context.Context, c *client, s *scope, k kind, file string) (*http.Response, int64, error) {
	resp, err := s.withWait(ctx, c, func(waitSecs int) (*http.Request, error) {
		p, err := s.path(k, file, waitSecs)
		if err != nil {
			return nil, err
		}
		req, err := c.request(ctx, http.MethodGet, p, nil)
		if err == nil {
			req.Header.Set("Range", "bytes=0-0")
		}
		return req, err
	})
	if err != nil {
		return nil, 0, err
	}
	resp.Body.Close()
	size := resp.ContentLength
	if resp.StatusCode == http.StatusPartialContent {
		if _, total, ok := strings.Cut(resp.Header.Get("Content-Range"), "/"); ok {
			size, _ = strconv.ParseInt(total, 10, 64)
		}
	}
	return resp, size, nil
}

// artifactsWait is `baton artifacts wait`: block until the archive (or a
// published artifact, or one file of it) exists.
func artifactsWait(ctx context.Context, args []string, env Env) error {
	var a artifactsFlags
	pos, c, err := a.parse("wait", "[PATH] --job NAME [--pipeline ID | --commit SHA | --ref REF] --wait 10m", args, env, 0, 1, false)
	if err != nil {
		return err
	}
	k, file := kindArchive, ""
	if len(pos) == 1 {
		k, file = kindRaw, pos[0]
	}
	if a.wait == 0 {
		a.wait = maxServerWait
	}
	resp, size, err := probe(ctx, c, &a.scope, k, file)
	if err != nil {
		return err
	}
	out := map[string]any{"size": size, "etag": resp.Header.Get("ETag")}
	id, _ := strconv.ParseInt(resp.Header.Get("X-Baton-Job-Id"), 10, 64)
	if id > 0 {
		out["job_id"] = id
	}
	if d := expectedDigest(resp.Header, k); d != "" {
		out["sha256"] = d
	}
	if a.json {
		return writeJSON(env.Stdout, out)
	}
	fmt.Fprintf(env.Stdout, "ready: job %d, %d bytes\n", id, size)
	return nil
}

// artifactsPublish is `baton artifacts publish NAME FILE`: a running job
// publishes FILE under NAME with its own token.
func artifactsPublish(ctx context.Context, args []string, env Env) error {
	fl := flag.NewFlagSet("artifacts publish", flag.ContinueOnError)
	var cm common
	cm.bind(fl)
	jobID := fl.String("job", "", "the running job's id (default: CI_JOB_ID)")
	filename := fl.String("filename", "", "name of the file inside the published zip when FILE is not a zip (default: FILE's base name)")
	replace := fl.Bool("replace", false, "replace an artifact already published under NAME")
	expireIn := fl.String("expire-in", "", "expiry, e.g. \"1 day\" (default: the job's artifacts:expire_in)")
	fl.Usage = func() {
		fmt.Fprintln(env.Stderr, "Usage: baton artifacts publish NAME FILE  (inside a running job; FILE - reads standard input)")
		fl.PrintDefaults()
	}
	pos, err := parseArgs(fl, args, env, 2, 2)
	if err != nil {
		return err
	}
	if *jobID == "" {
		*jobID = env.Getenv("CI_JOB_ID")
	}
	if !digits.MatchString(*jobID) {
		return exitf(ExitUsage, "publish runs inside a job: CI_JOB_ID is not set (or give --job ID)")
	}
	c, err := clientFor(cm, env)
	if err != nil {
		return err
	}
	name, file := pos[0], pos[1]
	var body io.Reader
	size := int64(-1)
	if file == "-" {
		body = env.Stdin
	} else {
		f, err := os.Open(file)
		if err != nil {
			return exitf(ExitUsage, "%v", err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return exitf(ExitUsage, "%v", err)
		}
		body, size = f, st.Size()
		if *filename == "" {
			*filename = filepath.Base(file)
		}
	}
	q := url.Values{}
	if *filename != "" {
		q.Set("filename", *filename)
	}
	if *replace {
		q.Set("replace", "true")
	}
	if *expireIn != "" {
		q.Set("expire_in", *expireIn)
	}
	p := "/api/v4/jobs/" + *jobID + "/artifacts/publish/" + url.PathEscape(name)
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	bar := newProgress(env, cm.json, size, 0, "publishing "+name)
	sum := sha256.New()
	head := &headBytes{}
	req, err := c.request(ctx, http.MethodPut, p, &progressReader{r: io.TeeReader(io.TeeReader(body, sum), head), bar: bar})
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.do(req)
	bar.finish()
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return exitf(ExitServer, "reading the answer: %v", err)
	}
	// Check that the server holds what was sent: a zip is stored as it
	// is (its SHA-256 is the answer's); any other file is the one entry of
	// the zip the server made, whose SHA-256 the manifest says.
	local := hex.EncodeToString(sum.Sum(nil))
	var held string
	if bytes.HasPrefix(head.b, []byte("PK\x03\x04")) {
		held, _ = out["sha256"].(string)
	} else if project := env.Getenv("CI_PROJECT_ID"); project != "" && *filename != "" {
		s := scope{project: project, job: *jobID, artifact: name}
		mp, _ := s.path(kindManifest, "", 0)
		var files []manifestEntry
		if err := c.getJSON(ctx, mp, &files); err == nil {
			for _, f := range files {
				if f.Path == *filename {
					held = f.SHA256
				}
			}
		}
	}
	if held != "" && held != local {
		return exitf(ExitVerify, "SHA-256 MISMATCH: published %s holds %s, but %s hashes to %s", name, held, file, local)
	}
	out["verified"] = held != ""
	if cm.json {
		return writeJSON(env.Stdout, out)
	}
	note := "SHA-256 verified"
	if held == "" {
		note = "not verified: no digest to compare"
	}
	fmt.Fprintf(env.Stdout, "published %s: %v bytes, sha256 %v (%s)\n", name, out["size"], out["sha256"], note)
	return nil
}

// headBytes keeps the first bytes written to it (a zip's magic).
type headBytes struct{ b []byte }

func (h *headBytes) Write(p []byte) (int, error) {
	if len(h.b) < 4 {
		h.b = append(h.b, p[:min(len(p), 4-len(h.b))]...)
	}
	return len(p), nil
}

// progressReader advances a bar as a body is read.
type progressReader struct {
	r   io.Reader
	bar *progress
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.bar.add(n)
	return n, err
}
