package runner

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"build/out.txt", "build/out.txt", true},
		{"build/*.txt", "build/out.txt", true},
		{"build/*.txt", "build/sub/out.txt", false},
		{"build/**/*.txt", "build/out.txt", true},
		{"build/**/*.txt", "build/a/b/out.txt", true},
		{"**/a.log", "a.log", true},
		{"**/a.log", "x/y/a.log", true},
		{"**", "anything/at/all", true},
		{"build", "build", true},
		{"build", "build2", false},
		{"b?ild/[a-o]ut.txt", "build/out.txt", true},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+" "+tc.name, func(t *testing.T) {
			if got := matchGlob(tc.pattern, tc.name); got != tc.want {
				t.Errorf("matchGlob(%q, %q) = %v", tc.pattern, tc.name, got)
			}
		})
	}
}

func TestMasker(t *testing.T) {
	tests := []struct {
		name     string
		secrets  []string
		writes   []string
		want     string
		prefixes []string
	}{
		{"token prefix", nil, []string{"pat glpat-abc_DEF-1.2 end"}, "pat glpat-[MASKED] end", []string{"glpat-"}},
		{"token split across writes", nil, []string{"x gl", "pat-ab", "cd", " y"}, "x glpat-[MASKED] y", []string{"glpat-"}},
		{"token at end of stream", nil, []string{"x glpat-abc"}, "x glpat-[MASKED]", []string{"glpat-"}},
		{"bare prefix is not a token", nil, []string{"glpat- glpat-"}, "glpat- glpat-", []string{"glpat-"}},
		{"secret and token", []string{"s3cret"}, []string{"glpat-1 s3cret glrt-2"}, "glpat-[MASKED] [MASKED] glrt-[MASKED]", []string{"glpat-", "glrt-"}},
		{"whole", []string{"secret"}, []string{"a secret b"}, "a [MASKED] b", nil},
		{"split across writes", []string{"secret"}, []string{"a sec", "r", "et b"}, "a [MASKED] b", nil},
		{"partial prefix at end is released on flush", []string{"secret"}, []string{"a sec"}, "a sec", nil},
		{"false start", []string{"secret"}, []string{"sesecret", "s"}, "se[MASKED]s", nil},
		{"longest wins", []string{"abc", "abcdef"}, []string{"xabcdefx abc"}, "x[MASKED]x [MASKED]", nil},
		{"no secrets", nil, []string{"plain"}, "plain", nil},
		{"repeated", []string{"tok"}, []string{"toktok"}, "[MASKED][MASKED]", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			m := newMasker(&out, tc.secrets, tc.prefixes)
			for _, w := range tc.writes {
				if _, err := m.Write([]byte(w)); err != nil {
					t.Fatal(err)
				}
			}
			if err := m.Flush(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got %q, want %q", out.String(), tc.want)
			}
		})
	}
}

func TestEntryName(t *testing.T) {
	tests := []struct {
		raw, want string
		unsafe    bool
	}{
		{"a/b.txt", "a/b.txt", false},
		{"./a/", "a", false},
		{"a/../b", "", true},
		{"../x", "", true},
		{"/etc/passwd", "", true},
		{"C:/x", "", true},
		{"a\x00b", "", true},
		{"..\\x", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			got, err := entryName(tc.raw)
			if errors.Is(err, errUnsafeEntry) != tc.unsafe || (!tc.unsafe && got != filepath.FromSlash(tc.want)) {
				t.Errorf("entryName(%q) = %q, %v", tc.raw, got, err)
			}
		})
	}
}

func TestAPIBase(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://h:8080", "http://h:8080/api/v4/"},
		{"http://h:8080/", "http://h:8080/api/v4/"},
		{"https://h/ci", "https://h/api/v4/"},
		{"https://h/gl/ci/", "https://h/gl/api/v4/"},
		{"unix:///x", ""},
		{"h:8080", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			u, err := apiBase(tc.in)
			got := ""
			if err == nil {
				got = u.String()
			}
			if got != tc.want {
				t.Errorf("apiBase(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestRangeEnd(t *testing.T) {
	for in, want := range map[string]int{"0-42": 42, "bytes=0-7": 7, "": 0, "garbage": 0, "0-": 0} {
		if got := rangeEnd(in); got != want {
			t.Errorf("rangeEnd(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestFailureReasonMapping(t *testing.T) {
	p := &jobPayload{Features: jobFeatures{FailureReasons: []string{"script_failure", "job_canceled"}}}
	for in, want := range map[string]string{
		"script_failure": "script_failure", "runner_system_failure": "runner_system_failure",
		"job_execution_timeout": "job_execution_timeout", "job_canceled": "job_canceled",
		"runner_interrupted": "unknown_failure", "": "",
	} {
		if got := p.failureReason(in); got != want {
			t.Errorf("failureReason(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBashScriptEcho runs generated scripts through bash: every command is
// echoed verbatim, quotes and escapes included.
func TestBashScriptEcho(t *testing.T) {
	cmds := []string{`echo "it's \ a $HOME 'quoted' \"x\""`, "printf 'tab\\there\\n'", "if true; then\n  echo multi\nfi"}
	out, err := exec.Command("bash", "--noprofile", "--norc", "-c", bashScript(cmds)).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		ansiBoldGreen + "$ " + cmds[0] + ansiReset + "\n",
		ansiBoldGreen + "$ printf 'tab\\there\\n'" + ansiReset + "\ntab\there\n",
		ansiBoldGreen + "$ if true; then # collapsed multi-line command" + ansiReset + "\nmulti\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%q", want, out)
		}
	}
}

// TestDecodeGitLabPayload decodes a job as GitLab sends it, with the fields
// this runner ignores, to catch type mismatches that would reject every job.
func TestDecodeGitLabPayload(t *testing.T) {
	const body = `{"id":42,"token":"jt-42","allow_git_fetch":true,
	 "job_info":{"id":42,"name":"build","stage":"test","project_id":1,"project_name":"demo","project_full_path":"g/demo",
	   "pipeline_id":3,"time_in_queue_seconds":1.5,"project_jobs_running_on_instance_runners_count":"+Inf","queue_size":0,"queue_depth":0},
	 "git_info":{"repo_url":"http://gitlab-ci-token:jt-42@h/g/demo.git","repo_object_format":"sha1","ref":"main",
	   "sha":"0123456789abcdef0123456789abcdef01234567","before_sha":"0000000000000000000000000000000000000000",
	   "ref_type":"branch","refspecs":["+refs/pipelines/3:refs/pipelines/3"],"depth":20,"protected":null},
	 "runner_info":{"timeout":3600,"runner_session_url":null},
	 "variables":[{"key":"CI_JOB_TOKEN","value":"jt-42","public":false,"masked":true},{"key":"F","value":"x","public":true,"file":true,"raw":false}],
	 "steps":[{"name":"script","script":["echo hi"],"timeout":3600,"when":"on_success","allow_failure":false},
	          {"name":"after_script","script":["echo bye"],"timeout":3600,"when":"always","allow_failure":true}],
	 "image":{"name":"alpine","entrypoint":null,"ports":[],"pull_policy":null},"services":[],
	 "artifacts":[{"name":"artifacts","untracked":false,"paths":["out/"],"exclude":[],"when":"on_success","artifact_type":"archive","artifact_format":"zip","expire_in":"1 week"},
	              {"name":"junit","untracked":false,"paths":["r.xml"],"when":"always","artifact_type":"junit","artifact_format":"gzip","expire_in":null}],
	 "cache":[{"key":"k","untracked":false,"paths":[],"policy":"pull-push","when":"on_success","fallback_keys":[]}],
	 "credentials":[{"type":"registry","url":"h:5050","username":"gitlab-ci-token","password":"jt-42"}],
	 "dependencies":[{"id":41,"name":"compile","token":"jt-42","artifacts_file":{"filename":"artifacts.zip","size":1234}}],
	 "features":{"trace_sections":true,"token_mask_prefixes":["glpat-"],"failure_reasons":["script_failure"]},
	 "hooks":[{"name":"pre_get_sources_script","script":["echo pre"]}]}`
	var p jobPayload
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	if p.ID != 42 || p.GitInfo.Depth != 20 || len(p.Steps) != 2 || p.Dependencies[0].ArtifactsFile.Size != 1234 ||
		p.gitStrategy() != "fetch" || p.Artifacts[1].ExpireIn != "" || projectPath(&p) != "g/demo" {
		t.Errorf("decoded %+v", p)
	}
	p.JobInfo.ProjectFullPath = ""
	if got := projectPath(&p); got != "g/demo" {
		t.Errorf("projectPath from repo_url = %q", got)
	}
}

func TestGitRemote(t *testing.T) {
	basic := func(s string) string { return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, url, remote, header string
	}{
		{"job token", "http://h:8080/g/p.git", "http://h:8080/g/p.git", basic("gitlab-ci-token:jt")},
		{"credentials in the url win and are stripped", "https://u:pw@h/g/p.git", "https://h/g/p.git", basic("u:pw")},
		{"local path", "/srv/repo/.git", "/srv/repo/.git", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			remote, env, err := gitRemote(tc.url, "jt")
			if err != nil || remote != tc.remote {
				t.Fatalf("gitRemote = %q, %v", remote, err)
			}
			got := ""
			for _, e := range env {
				if v, ok := strings.CutPrefix(e, "GIT_CONFIG_VALUE_0="); ok {
					got = v
				}
			}
			if got != tc.header {
				t.Errorf("header %q, want %q", got, tc.header)
			}
		})
	}
}
