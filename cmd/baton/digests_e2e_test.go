package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// digestPipeline: a parallel job whose shards share a file and add their
// own (stored and deflated), and a parallel job whose shards disagree.
const digestPipeline = `
stages: [test]
shard:
  stage: test
  parallel: 3
  script:
    - mkdir -p out/common reports
    - echo "shared content" > out/common/lib.txt
    - echo "node $CI_NODE_INDEX" > reports/node-$CI_NODE_INDEX.txt
    - head -c 300000 /dev/urandom > out/big-$CI_NODE_INDEX.txt
    - touch out/empty
  artifacts:
    paths: [out/, reports/]
clash:
  stage: test
  parallel: 2
  script:
    - mkdir -p out && echo "node $CI_NODE_INDEX" > out/version.txt && echo same > out/same.txt
  artifacts:
    paths: [out/]
`

// unzipAll reads every file of a zip into a map, checking sizes and CRCs.
func unzipAll(t *testing.T, z []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatalf("reading zip: %v", err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		out[f.Name] = string(b)
	}
	return out
}

func hexSum(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestArtifactDigestsAndMerge runs real parallel jobs on Baton's runner and
// checks per-file digests (tree, manifest, Digest headers, provenance by
// digest) and the merged download of the shards (archive, raw, tree), on
// both engines.
func TestArtifactDigestsAndMerge(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		var rn struct {
			ID    int64  `json:"id"`
			Token string `json:"token"`
		}
		in.api("POST", "/api/v4/user/runners", url.Values{"runner_type": {"instance_type"}, "run_untagged": {"true"},
			"description": {"digest-runner"}}, http.StatusCreated, &rn)
		in.startRunner(rn.Token, 3)
		pid, _ := in.project("digests", map[string]string{".gitlab-ci.yml": digestPipeline})
		pl := in.latestPipeline(pid)
		if done := in.waitPipeline(pid, pl.ID, 120*time.Second, "success", "failed", "canceled"); done.Status != "success" {
			t.Fatalf("pipeline %s: %s", done.Status, statuses(in.jobs(pid, pl.ID, false)))
		}
		jobs := in.jobs(pid, pl.ID, false)
		root := map[string]string{"PRIVATE-TOKEN": in.token}
		get := func(path string) (int, []byte, http.Header) {
			t.Helper()
			return in.do("GET", path, root, nil)
		}
		base := fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts", pid, pl.ID)

		// Each shard's own archive, downloaded by job.
		union := map[string]string{}
		shardFiles := map[string]map[string]string{}
		for i := 1; i <= 3; i++ {
			name := fmt.Sprintf("shard %d/3", i)
			status, z, _ := get(base + "?job=" + url.QueryEscape(name))
			if status != http.StatusOK {
				t.Fatalf("%s: status %d: %s", name, status, z)
			}
			shardFiles[name] = unzipAll(t, z)
			for p, b := range shardFiles[name] {
				union[p] = b
			}
		}
		if len(union) != 1+3+3+1 {
			t.Fatalf("union of the shards: %d files", len(union))
		}

		t.Run("manifest", func(t *testing.T) {
			j := jobs["shard 2/3"][0]
			for _, path := range []string{
				fmt.Sprintf("/api/v4/projects/%d/jobs/%d/artifacts/manifest", pid, j.ID),
				base + "/manifest?job=" + url.QueryEscape("shard 2/3"),
				fmt.Sprintf("/api/v4/projects/%d/repository/commits/%s/artifacts/manifest?job=%s", pid, pl.SHA, url.QueryEscape("shard 2/3")),
			} {
				status, body, _ := get(path)
				var m []struct {
					Path, Mode, SHA256 string
					Size               int64
				}
				if status != http.StatusOK || json.Unmarshal(body, &m) != nil {
					t.Fatalf("%s: %d %s", path, status, body)
				}
				files := shardFiles["shard 2/3"]
				if len(m) != len(files) {
					t.Fatalf("%s: %d files; the archive has %d", path, len(m), len(files))
				}
				for _, f := range m {
					content, ok := files[f.Path]
					if !ok || f.SHA256 != hexSum(content) || f.Size != int64(len(content)) || f.Mode != "644" {
						t.Errorf("%s: %+v; content %q", path, f, content)
					}
				}
			}
		})

		t.Run("tree and Digest headers", func(t *testing.T) {
			var tree []struct {
				Path, Type, SHA256 string
			}
			status, body, _ := get(base + "/tree?job=" + url.QueryEscape("shard 1/3") + "&path=out&recursive=true")
			if status != http.StatusOK || json.Unmarshal(body, &tree) != nil {
				t.Fatalf("tree: %d %s", status, body)
			}
			n := 0
			for _, e := range tree {
				want := ""
				if e.Type == "file" {
					want = hexSum(shardFiles["shard 1/3"][e.Path])
					n++
				}
				if e.SHA256 != want {
					t.Errorf("tree %s: sha256 %q; want %q", e.Path, e.SHA256, want)
				}
			}
			if n != 3 {
				t.Fatalf("tree: %d files under out/; want 3", n)
			}
			status, body, h := get(base + "/raw/out/big-1.txt?job=" + url.QueryEscape("shard 1/3"))
			sum := sha256.Sum256(body)
			b64 := base64.StdEncoding.EncodeToString(sum[:])
			if status != http.StatusOK || len(body) != 300000 || h.Get("Digest") != "sha-256="+b64 || h.Get("Repr-Digest") != "sha-256=:"+b64+":" {
				t.Fatalf("raw: %d, %d bytes, Digest %q, Repr-Digest %q; want %s", status, len(body), h.Get("Digest"), h.Get("Repr-Digest"), b64)
			}
		})

		t.Run("by digest", func(t *testing.T) {
			var found []struct {
				Path       string `json:"path"`
				CommitSHA  string `json:"commit_sha"`
				Ref        string `json:"ref"`
				PipelineID int64  `json:"pipeline_id"`
				Job        struct {
					ID   int64  `json:"id"`
					Name string `json:"name"`
				} `json:"job"`
				Runner *struct {
					ID          int64  `json:"id"`
					Description string `json:"description"`
				} `json:"runner"`
			}
			path := fmt.Sprintf("/api/v4/projects/%d/artifacts/by_digest/%s", pid, hexSum("shared content\n"))
			status, body, h := get(path)
			if status != http.StatusOK || json.Unmarshal(body, &found) != nil || h.Get("X-Total") != "3" {
				t.Fatalf("by_digest: %d %s (X-Total %q)", status, body, h.Get("X-Total"))
			}
			var names []string
			for _, f := range found {
				var job struct {
					Runner struct {
						ID          int64  `json:"id"`
						Description string `json:"description"`
					} `json:"runner"`
				}
				in.api("GET", fmt.Sprintf("/api/v4/projects/%d/jobs/%d", pid, f.Job.ID), nil, http.StatusOK, &job)
				if f.Path != "out/common/lib.txt" || f.CommitSHA != pl.SHA || f.Ref != "main" || f.PipelineID != pl.ID || f.Runner == nil ||
					f.Runner.ID != rn.ID || f.Runner.Description != "digest-runner" || job.Runner.ID != rn.ID || f.Job.ID != jobs[f.Job.Name][0].ID {
					t.Errorf("by_digest: %+v (runner %+v); job's runner %+v", f, f.Runner, job.Runner)
				}
				names = append(names, f.Job.Name)
			}
			sort.Strings(names)
			if strings.Join(names, ",") != "shard 1/3,shard 2/3,shard 3/3" {
				t.Fatalf("by_digest jobs %v", names)
			}
			// A digest nobody produced: an empty list. A malformed one: 400.
			status, body, _ = get(fmt.Sprintf("/api/v4/projects/%d/artifacts/by_digest/%s", pid, hexSum("nobody")))
			if status != http.StatusOK || strings.TrimSpace(string(body)) != "[]" {
				t.Fatalf("unknown digest: %d %s", status, body)
			}
			if status, _, _ := get(fmt.Sprintf("/api/v4/projects/%d/artifacts/by_digest/xyz", pid)); status != http.StatusBadRequest {
				t.Fatalf("malformed digest: %d", status)
			}
			// A private project answers an outsider exactly like a missing one.
			_, outsider := in.user("outsider")
			s1, b1, _ := in.do("GET", path, map[string]string{"PRIVATE-TOKEN": outsider}, nil)
			s2, b2, _ := in.do("GET", fmt.Sprintf("/api/v4/projects/%d/artifacts/by_digest/%s", pid+1000, hexSum("shared content\n")),
				map[string]string{"PRIVATE-TOKEN": outsider}, nil)
			if s1 != http.StatusNotFound || s1 != s2 || !bytes.Equal(b1, b2) {
				t.Fatalf("outsider: %d %s; missing project: %d %s", s1, b1, s2, b2)
			}
		})

		t.Run("merged", func(t *testing.T) {
			merged := base + "?job=shard&merge=parallel"
			status, z, h := get(merged)
			if status != http.StatusOK || h.Get("Content-Length") != fmt.Sprint(len(z)) {
				t.Fatalf("merged: %d (Content-Length %q, %d bytes) %.200s", status, h.Get("Content-Length"), len(z), z)
			}
			got := unzipAll(t, z)
			if len(got) != len(union) {
				t.Fatalf("merged: %d files; the shards hold %d", len(got), len(union))
			}
			for p, b := range union {
				if got[p] != b {
					t.Errorf("merged %s: %d bytes; want %d", p, len(got[p]), len(b))
				}
			}
			// unzip extracts it to the same files.
			if unzip, err := exec.LookPath("unzip"); err == nil {
				dir := t.TempDir()
				zp := filepath.Join(dir, "merged.zip")
				os.WriteFile(zp, z, 0o644)
				if out, err := exec.Command(unzip, "-q", zp, "-d", filepath.Join(dir, "x")).CombinedOutput(); err != nil {
					t.Fatalf("unzip: %v\n%s", err, out)
				}
				for p, b := range union {
					if data, err := os.ReadFile(filepath.Join(dir, "x", p)); err != nil || string(data) != b {
						t.Errorf("unzipped %s: %d bytes, %v", p, len(data), err)
					}
				}
			}
			status, body, rh := get(base + "/raw/reports/node-2.txt?job=shard&merge=parallel")
			if status != http.StatusOK || string(body) != "node 2\n" || rh.Get("Digest") == "" {
				t.Fatalf("merged raw: %d %q (Digest %q)", status, body, rh.Get("Digest"))
			}
			var tree []struct{ Path, SHA256 string }
			status, body, th := get(base + "/tree?job=shard&merge=parallel&path=reports")
			if status != http.StatusOK || json.Unmarshal(body, &tree) != nil || th.Get("X-Total") != "3" || len(tree) != 3 {
				t.Fatalf("merged tree: %d %s", status, body)
			}
			for i, e := range tree {
				if want := fmt.Sprintf("reports/node-%d.txt", i+1); e.Path != want || e.SHA256 != hexSum(fmt.Sprintf("node %d\n", i+1)) {
					t.Errorf("merged tree[%d] = %+v; want %s", i, e, want)
				}
			}
			// merge is the pipeline scope's alone.
			if status, _, _ := get(fmt.Sprintf("/api/v4/projects/%d/repository/commits/%s/artifacts?job=shard&merge=parallel", pid, pl.SHA)); status != http.StatusBadRequest {
				t.Fatalf("merge on the commit scope: %d", status)
			}
			if status, _, _ := get(base + "?job=shard&merge=all"); status != http.StatusBadRequest {
				t.Fatalf("merge=all: %d", status)
			}
		})

		t.Run("conflict", func(t *testing.T) {
			for _, path := range []string{base + "?job=clash&merge=parallel", base + "/tree?job=clash&merge=parallel",
				base + "/raw/out/same.txt?job=clash&merge=parallel"} {
				status, body, _ := get(path)
				var msg struct{ Message string }
				json.Unmarshal(body, &msg)
				if status != http.StatusConflict || !strings.Contains(msg.Message, "'out/version.txt'") || strings.Contains(msg.Message, "same.txt") {
					t.Fatalf("%s: %d %s; want 409 naming out/version.txt only", path, status, body)
				}
			}
			if status, body, _ := get(base + "?job=nothing&merge=parallel"); status != http.StatusNotFound {
				t.Fatalf("merge of a job that is not parallel: %d %s", status, body)
			}
		})
	})
}
