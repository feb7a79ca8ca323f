package gitserve

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

func TestReposLifecycle(t *testing.T) {
	ctx := context.Background()
	r := MustRepos(t)

	t.Run("create", func(t *testing.T) {
		if err := r.Create(ctx, 7); err != nil {
			t.Fatalf("Create: %v", err)
		}
		if got := git(t, r.Path(7), "config", "http.receivepack"); got != "true" {
			t.Errorf("http.receivepack = %q, want true", got)
		}
		if got := git(t, r.Path(7), "rev-parse", "--is-bare-repository"); got != "true" {
			t.Errorf("bare = %q", got)
		}
		branches, err := r.Branches(ctx, 7)
		if err != nil || len(branches) != 0 {
			t.Errorf("Branches of empty repo = %v, %v; want none", branches, err)
		}
	})

	errTests := []struct {
		name string
		call func() error
		kind ci.Kind
	}{
		{"create twice", func() error { return r.Create(ctx, 7) }, ci.KindConflict},
		{"create id 0", func() error { return r.Create(ctx, 0) }, ci.KindInvalid},
		{"delete missing", func() error { return r.Delete(ctx, 8) }, ci.KindNotFound},
		{"set HEAD to missing branch", func() error { return r.SetHEAD(ctx, 7, "nope") }, ci.KindNotFound},
		{"set HEAD of missing repo", func() error { return r.SetHEAD(ctx, 8, "main") }, ci.KindNotFound},
		{"set HEAD to option", func() error { return r.SetHEAD(ctx, 7, "--force") }, ci.KindInvalid},
		{"branches of missing repo", func() error { _, err := r.Branches(ctx, 8); return err }, ci.KindNotFound},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); ci.KindOf(err) != tt.kind {
				t.Errorf("error = %v (kind %q), want kind %q", err, ci.KindOf(err), tt.kind)
			}
		})
	}

	t.Run("branches and HEAD", func(t *testing.T) {
		work := MustWorkTree(t)
		git(t, work, "push", "--quiet", r.Path(7), "main:master", "main:feature/b", "main:a")
		branches, err := r.Branches(ctx, 7)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"a", "feature/b", "master"}; !reflect.DeepEqual(branches, want) {
			t.Errorf("Branches = %v, want %v", branches, want)
		}
		if err := r.SetHEAD(ctx, 7, "feature/b"); err != nil {
			t.Fatalf("SetHEAD: %v", err)
		}
		if head, err := r.HEAD(ctx, 7); err != nil || head != "feature/b" {
			t.Errorf("HEAD = %q, %v; want feature/b", head, err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := r.Delete(ctx, 7); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := os.Stat(r.Path(7)); !os.IsNotExist(err) {
			t.Errorf("repository still there: %v", err)
		}
		entries, _ := os.ReadDir(r.Root())
		if len(entries) != 0 {
			t.Errorf("root not empty after delete: %v", entries)
		}
		if err := r.Create(ctx, 7); err != nil {
			t.Errorf("Create after Delete: %v", err)
		}
	})
}

func TestRefTargets(t *testing.T) {
	r := MustRepos(t)
	ctx := context.Background()
	if err := r.Create(ctx, 1); err != nil {
		t.Fatal(err)
	}
	work := MustWorkTree(t)
	head := git(t, work, "rev-parse", "HEAD")
	git(t, work, "push", "--quiet", r.Path(1), "main", "main:a/b")
	many := make([]string, 1500)
	for i := range many {
		many[i] = fmt.Sprintf("refs/heads/missing-%d", i)
	}
	for _, tt := range []struct {
		name string
		refs []string
		want map[string]string
	}{
		{"exact names only", []string{"refs/heads/main", "refs/heads/a", "refs/heads/nope"}, map[string]string{"refs/heads/main": head}},
		{"nested", []string{"refs/heads/a/b"}, map[string]string{"refs/heads/a/b": head}},
		{"more than fit a command line", append(many, "refs/heads/main"), map[string]string{"refs/heads/main": head}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.refTargets(ctx, r.Path(1), tt.refs)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("refTargets = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
