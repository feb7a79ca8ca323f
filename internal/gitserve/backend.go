package gitserve

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// maxStderr bounds how much of git http-backend's stderr is kept for the log.
const maxStderr = 8 << 10

// runBackend runs `git http-backend` as a CGI program for the project's
// repository, streaming body to its stdin and its output to w. It reports
// whether git succeeded (exit status 0 and a 2xx response).
func (h *Handler) runBackend(w http.ResponseWriter, r *http.Request, log *slog.Logger, projectID int64, rest string, body io.Reader, remoteUser string, hooks *hookEnv) bool {
	repos := h.Repos
	ctx := r.Context()
	if rest == restReceivePack {
		// Never kill receive-pack half-way through updating refs (it could
		// leave lock files behind): a client that goes away while sending
		// ends its stdin, which makes it give up cleanly on its own.
		ctx = context.WithoutCancel(ctx)
	}
	cmd := repos.command(ctx, "", "http-backend")
	killGroupOnCancel(cmd)
	// http-backend names the pusher in reflogs unless the server's own
	// environment already chose a committer.
	env := cmd.Env[:0]
	for _, kv := range cmd.Env {
		if !strings.HasPrefix(kv, "GIT_COMMITTER_") && !strings.HasPrefix(kv, "GIT_AUTHOR_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, cgiEnv(r, repos.Root(), projectID, rest, remoteUser)...)
	if rest == restReceivePack && h.MaxPushBytes > 0 {
		cmd.Env = withConfig(cmd.Env, "receive.maxInputSize", strconv.FormatInt(h.MaxPushBytes, 10))
	}
	if hooks != nil {
		cmd.Env = append(withConfig(cmd.Env, "core.hooksPath", hooks.dir), hooks.env...)
	}
	// The body is copied to git's stdin by a goroutine of our own, so that
	// the request does not end while it may still be reading the body: git
	// may exit before reading all of it (a push over receive.maxInputSize),
	// and a Read still blocked on the client when the handler returns
	// races the server's own reads of the connection.
	var stdin io.WriteCloser
	if r.Method == http.MethodPost {
		var err error
		if stdin, err = cmd.StdinPipe(); err != nil {
			log.Error("starting git http-backend", "error", err)
			plainError(w, http.StatusInternalServerError, "Internal Server Error")
			return false
		}
	}
	stderr := &cappedBuffer{max: maxStderr}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		log.Error("starting git http-backend", "error", err)
		plainError(w, http.StatusInternalServerError, "Internal Server Error")
		return false
	}
	if err := cmd.Start(); err != nil {
		log.Error("starting git http-backend", "error", err)
		plainError(w, http.StatusInternalServerError, "Internal Server Error")
		return false
	}

	// receive-pack answers only once it has read the pack, but git may
	// still write progress early; let the body and the answer overlap.
	rc := http.NewResponseController(w)
	_ = rc.EnableFullDuplex()
	var bodyDone chan struct{}
	if stdin != nil {
		bodyDone = make(chan struct{})
		go func() {
			defer close(bodyDone)
			_, _ = io.Copy(stdin, body)
			_ = stdin.Close()
		}()
		defer func() {
			select {
			case <-bodyDone:
			default:
				// git is gone and the client still sends: stop reading
				// (a read deadline ends a blocked HTTP/1 read; closing the
				// body ends one where deadlines are not supported).
				if rc.SetReadDeadline(time.Now()) != nil {
					_ = r.Body.Close()
				}
				<-bodyDone
			}
			// In full-duplex mode net/http leaves a body that was not read
			// to its end alone until the handler returned, and reading its
			// end then starts the connection's background read too late:
			// it races the next request's read ("invalid concurrent
			// Body.Read call"). Finish the body here, while the handler
			// still runs: Close reads what is left (a bounded amount)
			// or gives the connection up.
			_ = r.Body.Close()
		}()
	}

	br := bufio.NewReaderSize(stdout, 32<<10)
	status, copyErr := copyCGIResponse(w, rc, br)
	if copyErr != nil {
		// Nobody will read the rest: closing the pipe makes git stop at
		// its next write instead of producing the whole pack for nothing.
		_ = stdout.Close()
	}
	waitErr := cmd.Wait()

	switch {
	case status == 0:
		log.Error("running git http-backend", "error", errors.Join(copyErr, waitErr), "stderr", stderr.String())
		plainError(w, http.StatusInternalServerError, "Internal Server Error")
		return false
	case copyErr != nil || waitErr != nil:
		if r.Context().Err() == nil {
			log.Error("running git http-backend", "error", errors.Join(copyErr, waitErr), "stderr", stderr.String())
		}
		return false
	case status >= 300:
		log.Warn("git http-backend refused request", "status", status, "stderr", stderr.String())
		return false
	}
	return true
}

// copyCGIResponse parses the CGI header block from br, writes it to w and
// streams the rest, flushing as it goes. It returns the status written (0 if
// nothing was written).
func copyCGIResponse(w http.ResponseWriter, rc *http.ResponseController, br *bufio.Reader) (int, error) {
	hdr, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil {
		return 0, fmt.Errorf("reading git http-backend headers: %w", err)
	}
	status := http.StatusOK
	if s := hdr.Get("Status"); s != "" {
		code, _, _ := strings.Cut(s, " ")
		if status, err = strconv.Atoi(code); err != nil || status < 100 || status > 999 {
			return 0, fmt.Errorf("invalid CGI status %q", s)
		}
		hdr.Del("Status")
	}
	out := w.Header()
	for k, vs := range hdr {
		for _, v := range vs {
			out.Add(k, v)
		}
	}
	w.WriteHeader(status)

	buf := make([]byte, 32<<10)
	for {
		n, rerr := br.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return status, fmt.Errorf("writing git response: %w", werr)
			}
			// Progress and pack data should reach the client as they come.
			_ = rc.Flush()
		}
		if rerr == io.EOF {
			return status, nil
		}
		if rerr != nil {
			return status, fmt.Errorf("reading git response: %w", rerr)
		}
	}
}

// cgiEnv returns the CGI variables git http-backend needs.
func cgiEnv(r *http.Request, root string, projectID int64, rest, remoteUser string) []string {
	env := []string{
		"GATEWAY_INTERFACE=CGI/1.1",
		"SERVER_PROTOCOL=" + r.Proto,
		"GIT_PROJECT_ROOT=" + root,
		"GIT_HTTP_EXPORT_ALL=1",
		"PATH_INFO=" + fmt.Sprintf("/%d.git%s", projectID, rest),
		"REQUEST_METHOD=" + r.Method,
		"QUERY_STRING=" + r.URL.RawQuery,
		"CONTENT_TYPE=" + r.Header.Get("Content-Type"),
	}
	// http-backend streams a body of unknown length (chunked) to git as it
	// comes, and reads exactly CONTENT_LENGTH bytes otherwise.
	if r.Method == http.MethodPost && r.ContentLength >= 0 {
		env = append(env, "CONTENT_LENGTH="+strconv.FormatInt(r.ContentLength, 10))
	}
	if remoteUser != "" && !strings.ContainsFunc(remoteUser, unicode.IsControl) {
		env = append(env, "REMOTE_USER="+remoteUser)
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		env = append(env, "REMOTE_ADDR="+host)
	}
	if enc := r.Header.Get("Content-Encoding"); enc != "" {
		// http-backend inflates gzip and x-gzip bodies itself.
		env = append(env, "HTTP_CONTENT_ENCODING="+enc)
	}
	if proto := r.Header.Get("Git-Protocol"); proto != "" && validGitProtocol(proto) {
		env = append(env, "GIT_PROTOCOL="+proto)
	}
	return env
}

// validGitProtocol accepts Git-Protocol values such as "version=2" or
// "version=2:object-format=sha1", nothing that could smuggle other settings.
func validGitProtocol(s string) bool {
	if len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("=:._-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// isGzip reports whether the request body is gzip-encoded.
func isGzip(r *http.Request) bool {
	enc := r.Header.Get("Content-Encoding")
	return enc == "gzip" || enc == "x-gzip"
}

// cappedBuffer keeps the first max bytes written to it and discards the rest.
type cappedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (b *cappedBuffer) String() string { return strings.TrimSpace(b.buf.String()) }

// withConfig adds a git configuration entry to env through
// GIT_CONFIG_COUNT/KEY/VALUE (which outrank every configuration file),
// after any entries the server's own environment already sets that way.
func withConfig(env []string, key, value string) []string {
	n, at := 0, -1
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GIT_CONFIG_COUNT="); ok {
			n, _ = strconv.Atoi(v)
			at = i
		}
	}
	count := "GIT_CONFIG_COUNT=" + strconv.Itoa(n+1)
	if at >= 0 {
		env[at] = count
	} else {
		env = append(env, count)
	}
	return append(env, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", n, key), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", n, value))
}
