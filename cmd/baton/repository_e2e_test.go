package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestRepositoryAPIBounds: what the repository read API refuses or cuts,
// and how it serves bytes: --max-blob-size (413 naming the flag),
// documented parameters Baton does not implement (400, never ignored),
// tree pages, HEAD on files, and raw files a browser must not run.
func TestRepositoryAPIBounds(t *testing.T) {
	in := startBaton(t, engines()[0], func(c *Config) { c.RepoReads.MaxBlobMiB = 1 })
	files := map[string]string{"big.bin": strings.Repeat("x", 1<<20+1), "page.html": "<script>alert(1)</script>"}
	for i := range 5 {
		files[fmt.Sprintf("dir/f%d.txt", i)] = "f\n"
	}
	pid, _ := in.project("repo", files)
	P := fmt.Sprintf("/api/v4/projects/%d", pid)
	root := map[string]string{"PRIVATE-TOKEN": in.token}

	for _, c := range []struct {
		name, path string
		status     int
		body       string
	}{
		{"file over --max-blob-size", P + "/repository/files/big.bin?ref=main", 413, "--max-blob-size"},
		{"raw file over --max-blob-size", P + "/repository/files/big.bin/raw?ref=main", 413, "--max-blob-size"},
		{"file without ref", P + "/repository/files/page.html", 400, "ref is missing"},
		{"missing file", P + "/repository/files/nope.txt?ref=main", 404, "404 File Not Found"},
		{"missing branch", P + "/repository/branches/nope", 404, "404 Branch Not Found"},
		{"missing commit", P + "/repository/commits/" + strings.Repeat("a", 40), 404, "404 Commit Not Found"},
		{"missing tree", P + "/repository/tree?path=nope", 404, "404 Tree Not Found"},
		{"commits by author", P + "/repository/commits?author=Test", 400, "author is not supported"},
		{"all commits", P + "/repository/commits?all=true", 400, "all=true is not supported"},
		{"tags by name", P + "/repository/tags?order_by=name", 400, "order_by"},
		{"statuses by stage", P + "/repository/commits/main/statuses?stage=test", 400, "stage is not supported"},
		{"keyset tree pages", P + "/repository/tree?pagination=keyset", 400, "pagination"},
		{"pipelines created after a bad time", P + "/pipelines?created_after=yesterday", 400, "created_after is invalid"},
		// Several bad times: the first is named, the same one every time.
		{"pipelines with bad times 1", P + "/pipelines?updated_before=x&created_after=y&updated_after=z", 400, "created_after is invalid"},
		{"pipelines with bad times 2", P + "/pipelines?updated_before=x&created_after=y&updated_after=z", 400, "created_after is invalid"},
		{"pipelines with bad times 3", P + "/pipelines?updated_before=x&created_after=y&updated_after=z", 400, "created_after is invalid"},
		{"pipelines with bad times 4", P + "/pipelines?updated_before=x&created_after=y&updated_after=z", 400, "created_after is invalid"},
		{"pipelines with bad times 5", P + "/pipelines?updated_before=x&created_after=y&updated_after=z", 400, "created_after is invalid"},
		{"pipelines with bad times 6", P + "/pipelines?updated_before=x&created_after=y&updated_after=z", 400, "created_after is invalid"},
		{"pipelines with a bad yaml_errors", P + "/pipelines?yaml_errors=maybe", 400, "yaml_errors is invalid"},
		{"a status in an unknown state", P + "/statuses/main?state=done", 400, "state does not have a valid value"},
	} {
		method := "GET"
		if strings.Contains(c.path, "/statuses/main") {
			method = "POST"
		}
		status, body, _ := in.do(method, c.path, root, nil)
		if status != c.status || !strings.Contains(string(body), c.body) {
			t.Errorf("%s: %d %.200s, want %d containing %q", c.name, status, body, c.status, c.body)
		}
	}

	// Metadata of a large file still answers, as headers on HEAD.
	status, _, h := in.do("HEAD", P+"/repository/files/big.bin?ref=main", root, nil)
	if status != 200 || h.Get("X-Gitlab-Size") != fmt.Sprint(1<<20+1) || len(h.Get("X-Gitlab-Blob-Id")) != 40 {
		t.Errorf("HEAD of a large file: %d, headers %v", status, h)
	}
	// HTML from the repository is never served as HTML.
	status, body, h := in.do("GET", P+"/repository/files/page.html/raw?ref=main", root, nil)
	if status != 200 || string(body) != files["page.html"] || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") ||
		h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("raw HTML: %d %q, headers %v", status, body, h)
	}
	// Tree pages: two of three, with GitLab's headers.
	var page []struct {
		Path string `json:"path"`
	}
	status, _, h = in.do("GET", P+"/repository/tree?path=dir&per_page=2&page=3", root, nil)
	if status != 200 || h.Get("X-Total") != "5" || h.Get("X-Total-Pages") != "3" || h.Get("X-Next-Page") != "" {
		t.Errorf("tree page 3: %d, headers %v", status, h)
	}
	in.api("GET", P+"/repository/tree?path=dir&per_page=2&page=2", nil, http.StatusOK, &page)
	if len(page) != 2 || page[0].Path != "dir/f2.txt" || page[1].Path != "dir/f3.txt" {
		t.Errorf("tree page 2 = %+v", page)
	}
}
