package gitserve

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const zeroSHA = "0000000000000000000000000000000000000000"

// TestPush walks one repository through a life of pushes with the real git
// client and checks what OnPush hears after each step.
func TestPush(t *testing.T) {
	s := MustGitServer(t)
	origin := s.url("g/app", alice, alicePW)
	work := filepath.Join(t.TempDir(), "app")
	// Cloning the empty repository anonymously works (with a warning).
	git(t, "", "clone", "--quiet", s.url("g/app", "", ""), work)
	git(t, work, "remote", "set-url", "origin", origin)

	commit := func(msg string) string {
		writeFile(t, work, "file.txt", msg+"\n")
		git(t, work, "add", "-A")
		git(t, work, "commit", "--quiet", "-m", msg)
		return git(t, work, "rev-parse", "HEAD")
	}
	var sha1, sha2, sha3 string
	repoDir := s.repos.Path(1)

	steps := []struct {
		name    string
		prepare func()          // makes commits and sets expectations
		push    func() []string // git push arguments
		fail    bool            // git push must fail
		noPost  bool            // the client sends no receive-pack request
		want    func() []RefUpdate
	}{
		{
			name:    "new branch",
			prepare: func() { sha1 = commit("first") },
			push:    func() []string { return []string{"origin", "main"} },
			want: func() []RefUpdate {
				return []RefUpdate{{Ref: "refs/heads/main", Name: "main", OldSHA: zeroSHA, NewSHA: sha1, Created: true}}
			},
		},
		{
			name:    "second push",
			prepare: func() { sha2 = commit("second") },
			push:    func() []string { return []string{"origin", "main"} },
			want: func() []RefUpdate {
				return []RefUpdate{{Ref: "refs/heads/main", Name: "main", OldSHA: sha1, NewSHA: sha2}}
			},
		},
		{
			name: "tags",
			prepare: func() {
				git(t, work, "tag", "v1", sha1)
				git(t, work, "tag", "-a", "-m", "release 2", "v2")
			},
			push: func() []string { return []string{"origin", "v1", "v2"} },
			want: func() []RefUpdate {
				annotated := git(t, work, "rev-parse", "v2")
				return []RefUpdate{
					{Ref: "refs/tags/v1", Name: "v1", Tag: true, OldSHA: zeroSHA, NewSHA: sha1, Created: true},
					{Ref: "refs/tags/v2", Name: "v2", Tag: true, OldSHA: zeroSHA, NewSHA: annotated, Created: true},
				}
			},
		},
		{
			name:    "branch with a slash",
			prepare: func() {},
			push:    func() []string { return []string{"origin", "main:feature/x"} },
			want: func() []RefUpdate {
				return []RefUpdate{{Ref: "refs/heads/feature/x", Name: "feature/x", OldSHA: zeroSHA, NewSHA: sha2, Created: true}}
			},
		},
		{
			name:    "deletion",
			prepare: func() {},
			push:    func() []string { return []string{"origin", "--delete", "feature/x"} },
			want: func() []RefUpdate {
				return []RefUpdate{{Ref: "refs/heads/feature/x", Name: "feature/x", OldSHA: sha2, NewSHA: zeroSHA, Deleted: true}}
			},
		},
		{
			name: "force push",
			prepare: func() {
				git(t, work, "reset", "--quiet", "--hard", sha1)
				sha3 = commit("rewritten")
			},
			push: func() []string { return []string{"origin", "+main"} },
			want: func() []RefUpdate {
				return []RefUpdate{{Ref: "refs/heads/main", Name: "main", OldSHA: sha2, NewSHA: sha3}}
			},
		},
		{
			name: "non-fast-forward refused by the client",
			prepare: func() {
				git(t, work, "reset", "--quiet", "--hard", sha1)
				commit("diverged")
			},
			push:   func() []string { return []string{"origin", "main"} },
			fail:   true,
			noPost: true,
		},
		{
			name:    "forced non-fast-forward rejected by the server",
			prepare: func() { git(t, repoDir, "config", "receive.denyNonFastForwards", "true") },
			push:    func() []string { return []string{"origin", "+main"} },
			fail:    true,
		},
		{
			name: "one ref of two rejected by an update hook",
			prepare: func() {
				git(t, repoDir, "config", "receive.denyNonFastForwards", "false")
				hook := "#!/bin/sh\ncase \"$1\" in refs/heads/blocked) echo 'blocked by policy' >&2; exit 1;; esac\nexit 0\n"
				if err := os.WriteFile(filepath.Join(repoDir, "hooks", "update"), []byte(hook), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			push: func() []string { return []string{"origin", sha2 + ":refs/heads/allowed", "HEAD:refs/heads/blocked"} },
			fail: true,
			want: func() []RefUpdate {
				return []RefUpdate{{Ref: "refs/heads/allowed", Name: "allowed", OldSHA: zeroSHA, NewSHA: sha2, Created: true}}
			},
		},
		{
			name:    "nothing to push",
			prepare: func() {},
			push:    func() []string { return []string{"origin", sha2 + ":refs/heads/allowed"} },
			noPost:  true,
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.prepare()
			args := append([]string{"push"}, st.push()...)
			out, err := gitErr(work, nil, args...)
			if st.fail != (err != nil) {
				t.Fatalf("git push failed=%v, want failed=%v\n%s", err != nil, st.fail, out)
			}
			s.handler.Wait()
			posted := false
			for _, r := range s.seen() {
				posted = posted || (r.method == "POST" && strings.HasSuffix(r.path, "/git-receive-pack"))
			}
			if posted == st.noPost {
				t.Errorf("receive-pack request sent = %v, want %v", posted, !st.noPost)
			}
			calls := s.pushes.take()
			if st.want == nil {
				if len(calls) != 0 {
					t.Fatalf("OnPush called %d times, want none: %+v", len(calls), calls)
				}
				return
			}
			if len(calls) != 1 {
				t.Fatalf("OnPush called %d times, want once; git said:\n%s", len(calls), out)
			}
			c := calls[0]
			if c.project.ID != 1 || c.pusher != alice {
				t.Errorf("OnPush(project %d, pusher %q), want (1, %q)", c.project.ID, c.pusher, alice)
			}
			if want := st.want(); !reflect.DeepEqual(c.updates, want) {
				t.Errorf("updates:\n got %+v\nwant %+v", c.updates, want)
			}
		})
	}

	t.Run("clone sees the pushed history", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "clone")
		git(t, "", "clone", "--quiet", s.url("g/app", "", ""), dir)
		if got := git(t, dir, "rev-parse", "HEAD"); got != sha3 {
			t.Errorf("clone HEAD = %s, want %s", got, sha3)
		}
		tags := strings.Fields(git(t, dir, "tag", "--list"))
		if !reflect.DeepEqual(tags, []string{"v1", "v2"}) {
			t.Errorf("tags = %v, want [v1 v2]", tags)
		}
	})
}
