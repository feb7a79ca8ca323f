package gitserve

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the server's logger.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestReceivePackGitExitsFirst: when git stops reading a push early (a
// bad or over-size pack) while the client keeps the body open, the
// request ends at once (it used to be held until the client went away,
// git's process with it) without leaving a read of the body behind: the
// server never sees two concurrent reads of the connection (net/http
// panics "invalid concurrent Body.Read call").
func TestReceivePackGitExitsFirst(t *testing.T) {
	gs := MustGitServer(t)
	var serverLog lockedBuffer
	srv := httptest.NewUnstartedServer(gs.handler)
	srv.Config.ErrorLog = log.New(&serverLog, "", 0)
	srv.Start()
	defer srv.Close()

	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", srv.URL+"/g/app.git/git-receive-pack", pr)
	req.SetBasicAuth(alice, alicePW)
	req.Header.Set("Content-Type", "application/x-git-receive-pack-request")
	go func() {
		cmd := zeroSHA + " " + strings.Repeat("1", 40) + " refs/heads/x\x00report-status\n"
		fmt.Fprintf(pw, "%04x%s0000", len(cmd)+4, cmd)
		_, _ = pw.Write([]byte("not a pack at all"))
		// ...and the client goes quiet without ending the body.
	}()
	// Without the fix the request never ends; the client's timeout ends the test.
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if err != nil {
		t.Errorf("the push did not end while its client kept the body open: %v", err)
	}
	pw.Close()
	srv.Close() // waits for the connection's goroutine to finish
	if strings.Contains(serverLog.String(), "panic") {
		t.Errorf("the server panicked:\n%s", serverLog.String())
	}
}
