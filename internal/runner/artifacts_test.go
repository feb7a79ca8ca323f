package runner

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// zipEntries lists an archive's entries as "name" or "name -> target" for symlinks.
func zipEntries(t *testing.T, data []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("reading uploaded zip: %v", err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		switch {
		case f.Mode()&os.ModeSymlink != 0:
			out[f.Name] = "-> " + string(b)
		case f.Mode().IsDir():
			out[f.Name] = "dir"
		default:
			out[f.Name] = string(b)
		}
	}
	return out
}

func TestArtifactsUpload(t *testing.T) {
	repo, sha := gitRepo(t)
	script := []string{
		"mkdir -p build/sub logs",
		"echo out > build/out.txt", "echo deep > build/sub/deep.txt", "echo log > build/sub/skip.log",
		"ln -s out.txt build/link", "ln -s /etc/passwd build/outside",
		"echo ignored > cache.tmp", "echo untracked > notes.txt", "echo l > logs/a.log",
		"echo 'KEY=value' > build.env",
	}
	artifacts := []map[string]any{
		{"name": "artifacts", "untracked": true, "paths": []string{"$CI_PROJECT_DIR/build/", "**/a.log", "missing/*", "../escape", "$CI_BUILDS_DIR/elsewhere"},
			"exclude": []string{"build/**/*.log", "build/outside"}, "when": "on_success",
			"artifact_type": "archive", "artifact_format": "zip", "expire_in": "1 week"},
		{"name": "dotenv", "paths": []string{"build.env"}, "when": "always", "artifact_type": "dotenv", "artifact_format": "gzip"},
		{"name": "failure-only", "paths": []string{"README"}, "when": "on_failure", "artifact_type": "archive", "artifact_format": "zip"},
		{"name": "nothing", "paths": []string{"does-not-exist"}, "when": "on_success", "artifact_type": "archive", "artifact_format": "zip"},
	}
	f := newFakeCoordinator(t)
	j := f.enqueue(payload(20, script, map[string]any{
		"git_info":  map[string]any{"repo_url": repo, "ref": "main", "sha": sha, "refspecs": []string{}},
		"variables": []map[string]any{{"key": "GIT_STRATEGY", "value": "clone"}},
		"artifacts": artifacts,
	}))
	startRunner(t, newTestRunner(t, f, 1))
	trace, final, uploads := waitFinal(t, f, j)
	checkFinal(t, trace, final, "success", "", 0)
	if len(uploads) != 2 {
		t.Fatalf("uploads = %d, want 2 (archive, dotenv); trace:\n%s", len(uploads), trace)
	}

	t.Run("archive", func(t *testing.T) {
		up := uploads[0]
		if up.filename != "artifacts.zip" || up.query.Get("artifact_format") != "zip" ||
			up.query.Get("artifact_type") != "archive" || up.query.Get("expire_in") != "1 week" {
			t.Errorf("upload %q query %v", up.filename, up.query)
		}
		got := zipEntries(t, up.data)
		want := map[string]string{
			"build/": "dir", "build/out.txt": "out\n", "build/sub/": "dir", "build/sub/deep.txt": "deep\n",
			"build/link": "-> out.txt", "logs/a.log": "l\n",
			// untracked, including ignored files
			"cache.tmp": "ignored\n", "notes.txt": "untracked\n", "build.env": "KEY=value\n",
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("zip entries:\n got %v\nwant %v", sortedKeys(got), sortedKeys(want))
		}
		for _, s := range []string{"missing/*: no matching files", "../escape: not within the project directory", "$CI_BUILDS_DIR/elsewhere: not within", "No files to upload"} {
			if !strings.Contains(trace, s) {
				t.Errorf("trace lacks warning %q:\n%s", s, trace)
			}
		}
	})
	t.Run("dotenv report", func(t *testing.T) {
		up := uploads[1]
		if up.filename != "dotenv.gz" || up.query.Get("artifact_format") != "gzip" || up.query.Get("artifact_type") != "dotenv" || up.query.Has("expire_in") {
			t.Errorf("upload %q query %v", up.filename, up.query)
		}
		zr, err := gzip.NewReader(bytes.NewReader(up.data))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(zr)
		if string(b) != "KEY=value\n" || zr.Name != "build.env" {
			t.Errorf("gzip member %q = %q", zr.Name, b)
		}
	})
}

func TestArtifactsOnFailure(t *testing.T) {
	f := newFakeCoordinator(t)
	j := f.enqueue(payload(21, []string{"echo report > report.xml", "exit 2"}, map[string]any{
		"artifacts": []map[string]any{
			{"name": "artifacts", "paths": []string{"report.xml"}, "when": "on_success", "artifact_format": "zip"},
			{"name": "junit", "paths": []string{"report.xml"}, "when": "always", "artifact_type": "junit", "artifact_format": "gzip"},
		},
	}))
	startRunner(t, newTestRunner(t, f, 1))
	trace, final, uploads := waitFinal(t, f, j)
	checkFinal(t, trace, final, "failed", "script_failure", 2)
	if len(uploads) != 1 || uploads[0].filename != "junit.gz" {
		t.Errorf("uploads after a failure: %+v", uploads)
	}
	if !strings.Contains(trace, "upload_artifacts_on_failure") {
		t.Errorf("no upload_artifacts_on_failure section:\n%s", trace)
	}
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// makeZip builds an archive from entries; a value starting with "-> " is a symlink.
func makeZip(t *testing.T, entries [][2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e[0], Method: zip.Deflate}
		switch {
		case strings.HasPrefix(e[1], "-> "):
			h.SetMode(os.ModeSymlink | 0o777)
		case strings.HasSuffix(e[0], "/"):
			h.SetMode(os.ModeDir | 0o755)
		case strings.HasSuffix(e[0], ".sh"):
			h.SetMode(0o755)
		default:
			h.SetMode(0o644)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(w, strings.TrimPrefix(e[1], "-> "))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDependencies(t *testing.T) {
	tests := []struct {
		name    string
		entries [][2]string
		ok      bool
		check   []string // files that must exist in the project dir after a success
	}{
		{"good archive", [][2]string{{"dist/", ""}, {"dist/app.sh", "#!/bin/sh\n"}, {"dist/current", "-> app.sh"}, {"top.txt", "t"}}, true,
			[]string{"dist/app.sh", "dist/current", "top.txt"}},
		{"dot-dot escape", [][2]string{{"ok.txt", "x"}, {"../escaped.txt", "evil"}}, false, nil},
		{"absolute path", [][2]string{{"/tmp/abs-evil.txt", "evil"}}, false, nil},
		{"symlink escape", [][2]string{{"out", "-> ../../../../../../outside"}}, false, nil},
		{"write through an inside symlink", [][2]string{{"real/", ""}, {"lnk", "-> real"}, {"lnk/x.txt", "through"}}, false, nil},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCoordinator(t)
			depID := int64(500 + i)
			f.depArchives[depID] = makeZip(t, tc.entries)
			f.depTokens[depID] = "dep-token"
			j := f.enqueue(payload(30+i, []string{"ls -la", "test -x dist/app.sh || true"}, map[string]any{
				"dependencies": []map[string]any{
					{"id": depID, "name": "compile", "token": "dep-token", "artifacts_file": map[string]any{"filename": "artifacts.zip", "size": 1}},
					{"id": 999, "name": "no-artifacts", "token": "dep-token", "artifacts_file": map[string]any{"filename": "", "size": 0}},
				},
			}))
			r := newTestRunner(t, f, 1)
			startRunner(t, r)
			trace, final, _ := waitFinal(t, f, j)
			dir := filepath.Join(r.cfg.BuildsDir, shortToken(f.runnerToken), "0", "project-1")
			if !tc.ok {
				if final["state"] != "failed" {
					t.Errorf("malicious archive accepted:\n%s", trace)
				}
				if !strings.Contains(trace, "unsafe archive entry") {
					t.Errorf("trace does not explain the refusal:\n%s", trace)
				}
				if _, err := os.Stat(filepath.Join(dir, "lnk", "x.txt")); err == nil {
					t.Error("wrote through a symlink")
				}
				if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escaped.txt")); err == nil {
					t.Error("wrote outside the project dir")
				}
				if _, err := os.Lstat(filepath.Join(dir, "out")); err == nil {
					t.Error("created a symlink pointing outside")
				}
				return
			}
			checkFinal(t, trace, final, "success", "", 0)
			for _, name := range tc.check {
				if _, err := os.Lstat(filepath.Join(dir, name)); err != nil {
					t.Errorf("extracted file: %v", err)
				}
			}
			if fi, err := os.Stat(filepath.Join(dir, "dist/app.sh")); err != nil || fi.Mode().Perm() != 0o755 {
				t.Errorf("mode of dist/app.sh: %v %v", fi, err)
			}
			if target, _ := os.Readlink(filepath.Join(dir, "dist/current")); target != "app.sh" {
				t.Errorf("symlink target %q", target)
			}
		})
	}
}

func TestUploadFollows307(t *testing.T) {
	f := newFakeCoordinator(t)
	f.redirectUpload = true
	j := f.enqueue(payload(22, []string{"echo r > r.txt"}, map[string]any{
		"artifacts": []map[string]any{{"name": "a", "paths": []string{"r.txt"}, "artifact_format": "zip", "artifact_type": "archive"}},
	}))
	startRunner(t, newTestRunner(t, f, 1))
	trace, final, uploads := waitFinal(t, f, j)
	checkFinal(t, trace, final, "success", "", 0)
	f.mu.Lock()
	hosts := append([]string(nil), f.uploadHosts...)
	f.mu.Unlock()
	if len(uploads) != 1 || len(hosts) != 2 || !strings.HasPrefix(hosts[1], "localhost:") || uploads[0].query.Get("artifact_type") != "archive" {
		t.Errorf("uploads %d to hosts %v", len(uploads), hosts)
	}
	if got := zipEntries(t, uploads[0].data); got["r.txt"] != "r\n" {
		t.Errorf("zip entries %v", got)
	}
}

// TestDependencyLimits: a dependency archive whose files declare more than
// MaxExtractSize, or whose entries share bytes, fails the job with the
// reason in its log and nothing extracted; one within the limit extracts.
func TestDependencyLimits(t *testing.T) {
	overlapping := makeZip(t, [][2]string{{"a.txt", "same bytes"}, {"b.txt", "same bytes"}})
	cd := bytes.LastIndex(overlapping, []byte("PK\x01\x02")) // b.txt's central record
	binary.LittleEndian.PutUint32(overlapping[cd+42:], 0)    // now at a.txt's local header
	big := strings.Repeat("x", 1000)
	tests := []struct {
		name    string
		archive []byte
		message string // "": succeeds
	}{
		{"within the limit", makeZip(t, [][2]string{{"a.txt", big}, {"b.txt", big}}), ""},
		{"declared over the limit", makeZip(t, [][2]string{{"a.txt", big}, {"b.txt", big}, {"c.txt", big}}),
			"its files declare 3000 bytes, more than the 2000 bytes allowed (--max-extract-size)"},
		{"overlapping entries", overlapping, `entries "a.txt" and "b.txt" share bytes (refused as a zip bomb)`},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCoordinator(t)
			depID := int64(600 + i)
			f.depArchives[depID] = tc.archive
			f.depTokens[depID] = "dep-token"
			j := f.enqueue(payload(60+i, []string{"true"}, map[string]any{
				"dependencies": []map[string]any{
					{"id": depID, "name": "compile", "token": "dep-token", "artifacts_file": map[string]any{"filename": "artifacts.zip", "size": 1}},
				},
			}))
			r := newTestRunner(t, f, 1)
			r.cfg.MaxExtractSize = 2000
			startRunner(t, r)
			trace, final, _ := waitFinal(t, f, j)
			dir := filepath.Join(r.cfg.BuildsDir, shortToken(f.runnerToken), "0", "project-1")
			_, errA := os.Stat(filepath.Join(dir, "a.txt"))
			if tc.message == "" {
				checkFinal(t, trace, final, "success", "", 0)
				if errA != nil {
					t.Fatalf("a.txt not extracted: %v", errA)
				}
				return
			}
			if final["state"] != "failed" || !strings.Contains(trace, tc.message) {
				t.Fatalf("state %v; trace does not say %q:\n%s", final["state"], tc.message, trace)
			}
			if errA == nil {
				t.Fatal("a.txt was extracted from a refused archive")
			}
		})
	}
}

// TestUploadRetried: like gitlab-runner, an artifact upload the coordinator
// fails (the connection dropped mid-body, as when it is killed, or an error
// status) is tried again with back-off, 3 tries in all (6 while it answers
// 503); an upload that never succeeds fails the job as archived_failure
// (runner_system_failure for a coordinator that does not know that
// reason), never as the script's failure. HTTP-level retries are off here,
// so each request is one try.
func TestUploadRetried(t *testing.T) {
	tests := []struct {
		name      string
		fail      int
		code      int  // 0: drop the connection
		archived  bool // the coordinator lists archived_failure
		wantTries int
		wantState string
		reason    string
	}{
		{"two dropped, then stored", 2, 0, true, 3, "success", ""},
		{"two 500s, then stored", 2, http.StatusInternalServerError, true, 3, "success", ""},
		{"five 503s, then stored", 5, http.StatusServiceUnavailable, true, 6, "success", ""},
		{"always dropped", 10, 0, true, 3, "failed", "archived_failure"},
		{"always 502", 10, http.StatusBadGateway, true, 3, "failed", "archived_failure"},
		{"always dropped, reason unknown to the coordinator", 10, 0, false, 3, "failed", "runner_system_failure"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCoordinator(t)
			f.failUploads, f.failUploadCode = tt.fail, tt.code
			p := payload(300+i, []string{"echo r > r.txt"}, map[string]any{
				"artifacts": []map[string]any{{"name": "a", "paths": []string{"r.txt"}, "artifact_format": "zip", "artifact_type": "archive"}},
			})
			if !tt.archived {
				p["features"] = map[string]any{"trace_sections": true,
					"failure_reasons": []string{"script_failure", "runner_system_failure", "job_execution_timeout", "unknown_failure", "job_canceled"}}
			}
			j := f.enqueue(p)
			r := newTestRunner(t, f, 1)
			r.client.attempts = 1
			startRunner(t, r)
			trace, final, uploads := waitFinal(t, f, j)
			checkFinal(t, trace, final, tt.wantState, tt.reason, 0)
			f.mu.Lock()
			tries := f.uploadTries
			f.mu.Unlock()
			if tries != tt.wantTries {
				t.Errorf("upload tries = %d, want %d; trace:\n%s", tries, tt.wantTries, trace)
			}
			if tt.wantState == "success" {
				if len(uploads) != 1 || zipEntries(t, uploads[0].data)["r.txt"] != "r\n" {
					t.Errorf("stored uploads %d", len(uploads))
				}
			}
			if !strings.Contains(trace, "retrying") {
				t.Errorf("trace does not say the upload is retried:\n%s", trace)
			}
		})
	}
}
