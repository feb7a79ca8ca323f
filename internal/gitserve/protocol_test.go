package gitserve

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pkt encodes one pkt-line.
func pkt(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }

func TestProtocolVersion(t *testing.T) {
	s := MustGitServer(t)
	seed := MustWorkTree(t)
	git(t, seed, "push", "--quiet", s.url("g/app", alice, alicePW), "main")

	t.Run("advertisement", func(t *testing.T) {
		for _, tt := range []struct {
			name, header string
			v2           bool
		}{
			{"v0", "", false},
			{"v2", "version=2", true},
			{"v2 with object format", "version=2:object-format=sha1", true},
			{"junk ignored", "version=2 GIT_DIR=/etc", false},
		} {
			t.Run(tt.name, func(t *testing.T) {
				req, _ := http.NewRequest("GET", s.URL+"/g/app.git/info/refs?service=git-upload-pack", nil)
				if tt.header != "" {
					req.Header["Git-Protocol"] = []string{tt.header}
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				if got := bytes.Contains(body, []byte("version 2\n")); got != tt.v2 {
					t.Errorf("advertises version 2 = %v, want %v:\n%s", got, tt.v2, body)
				}
			})
		}
	})

	for _, version := range []string{"0", "1", "2"} {
		t.Run("clone and fetch with protocol v"+version, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "clone")
			git(t, "", "-c", "protocol.version="+version, "clone", "--quiet", s.url("g/app", "", ""), dir)
			writeFile(t, seed, "more.txt", "v"+version+"\n")
			git(t, seed, "add", "-A")
			git(t, seed, "commit", "--quiet", "-m", "more for v"+version)
			git(t, seed, "push", "--quiet", s.url("g/app", alice, alicePW), "main")
			git(t, dir, "-c", "protocol.version="+version, "fetch", "--quiet", "origin")
			if got, want := git(t, dir, "rev-parse", "origin/main"), git(t, seed, "rev-parse", "HEAD"); got != want {
				t.Errorf("fetched origin/main = %s, want %s", got, want)
			}
			sawV2 := false
			for _, r := range s.seen() {
				sawV2 = sawV2 || (strings.HasSuffix(r.path, "/git-upload-pack") && r.gitProtocol == "version=2")
			}
			if sawV2 != (version == "2") {
				t.Errorf("upload-pack requests with Git-Protocol version=2: %v, want %v", sawV2, version == "2")
			}
		})
	}
}

// TestUploadPackGzip posts a hand-made upload-pack request, plain and
// gzip-encoded, and gets a pack back either way.
func TestUploadPackGzip(t *testing.T) {
	s := MustGitServer(t)
	seed := MustWorkTree(t)
	git(t, seed, "push", "--quiet", s.url("g/app", alice, alicePW), "main")
	head := git(t, seed, "rev-parse", "HEAD")
	request := pkt("want "+head+" ofs-delta\n") + "0000" + pkt("done\n")

	for _, tt := range []struct {
		name, encoding string
		chunked        bool
	}{
		{"plain", "", false},
		{"gzip", "gzip", false},
		{"x-gzip chunked", "x-gzip", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body bytes.Buffer
			if tt.encoding != "" {
				zw := gzip.NewWriter(&body)
				io.WriteString(zw, request)
				zw.Close()
			} else {
				body.WriteString(request)
			}
			var reader io.Reader = &body
			if tt.chunked {
				reader = io.MultiReader(&body) // hides the length
			}
			req, _ := http.NewRequest("POST", s.URL+"/g/app.git/git-upload-pack", reader)
			req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.HasPrefix(got, []byte("0008NAK\n")) || !bytes.Contains(got, []byte("PACK")) {
				t.Fatalf("status %d, want 200 with NAK and a pack; got %q", resp.StatusCode, truncate(string(got), 200))
			}
		})
	}

	t.Run("git client gzips a long want list", func(t *testing.T) {
		for i := range 30 {
			git(t, seed, "tag", "-a", "-m", "tag", fmt.Sprintf("release-%03d", i))
		}
		git(t, seed, "push", "--quiet", s.url("g/app", alice, alicePW), "--tags")
		s.seen()
		git(t, "", "-c", "protocol.version=0", "clone", "--quiet", s.url("g/app", "", ""), filepath.Join(t.TempDir(), "clone"))
		gzipped := false
		for _, r := range s.seen() {
			gzipped = gzipped || (strings.HasSuffix(r.path, "/git-upload-pack") && r.encoding == "gzip")
		}
		if !gzipped {
			t.Errorf("no gzip-encoded upload-pack request seen")
		}
	})
}

// TestLargePush pushes 20 MiB of random bytes, which git sends chunked.
func TestLargePush(t *testing.T) {
	s := MustGitServer(t)
	work := MustWorkTree(t)
	data := make([]byte, 20<<20)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(work, "big.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, work, "add", "big.bin")
	git(t, work, "commit", "--quiet", "-m", "big")
	git(t, work, "push", "--quiet", s.url("g/app", alice, alicePW), "main")
	s.handler.Wait()

	chunked := false
	for _, r := range s.seen() {
		chunked = chunked || (r.method == "POST" && strings.HasSuffix(r.path, "/git-receive-pack") && r.contentLength == -1)
	}
	if !chunked {
		t.Errorf("no chunked receive-pack request seen")
	}
	calls := s.pushes.take()
	if len(calls) != 1 || len(calls[0].updates) != 1 || calls[0].updates[0].NewSHA != git(t, work, "rev-parse", "HEAD") {
		t.Fatalf("OnPush calls = %+v, want one for main", calls)
	}

	dir := filepath.Join(t.TempDir(), "clone")
	git(t, "", "clone", "--quiet", s.url("g/app", "", ""), dir)
	got, err := os.ReadFile(filepath.Join(dir, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Errorf("cloned big.bin differs from the pushed one")
	}
}
