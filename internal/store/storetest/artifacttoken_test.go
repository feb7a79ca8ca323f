package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

// TestArtifactTokens: creation within the per-pipeline and per-project
// bounds, lookups, revocation, and a bounded use list.
func TestArtifactTokens(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		pl, jobs := MustPipeline(t, db, proj.ID, "main", map[string][]string{"build": {"a"}})
		pl2, _ := MustPipeline(t, db, proj.ID, "main", map[string][]string{"build": {"a"}})
		far := time.Now().Add(time.Hour)
		mk := func(pipeline int64, hash string, exp time.Time) (*ci.ArtifactToken, error) {
			tok := &ci.ArtifactToken{ProjectID: proj.ID, PipelineID: pipeline, JobID: jobs[0].ID, TokenHash: hash, TokenTail: "abcd",
				Jobs: []string{"a", "b"}, Artifacts: []string{"notes"}, AllowedIPs: []string{"127.0.0.1/32"}, MaxUses: 3, ExpiresAt: exp}
			return tok, db.CreateArtifactToken(ctx, tok, 2, 3)
		}
		t1, err := mk(pl.ID, "h1", far)
		if err != nil || t1.ID == 0 || t1.CreatedAt.IsZero() {
			t.Fatalf("create: %+v %v", t1, err)
		}
		got, err := db.ArtifactTokenByHash(ctx, "h1")
		if err != nil || got.ID != t1.ID || fmt.Sprint(got.Jobs, got.Artifacts, got.AllowedIPs) != "[a b] [notes] [127.0.0.1/32]" ||
			got.MaxUses != 3 || !got.ExpiresAt.Equal(t1.ExpiresAt) || got.RevokedAt != nil {
			t.Fatalf("ArtifactTokenByHash = %+v, %v", got, err)
		}
		_, err = db.ArtifactTokenByHash(ctx, "nope")
		WantKind(t, err, ci.KindNotFound)
		_, err = mk(pl.ID, "h1", far)
		WantKind(t, err, ci.KindConflict)
		if _, err := mk(pl.ID, "h2", far); err != nil {
			t.Fatal(err)
		}
		_, err = mk(pl.ID, "h3", far)
		WantKind(t, err, ci.KindTooMany) // 2 per pipeline
		if _, err := mk(pl2.ID, "h4", time.Now().Add(-time.Minute)); err != nil {
			t.Fatal(err) // expired: does not count toward the project's live tokens
		}
		if _, err := mk(pl2.ID, "h5", far); err != nil {
			t.Fatal(err)
		}
		_, err = mk(pl2.ID, "h6", far)
		WantKind(t, err, ci.KindTooMany) // pipeline 2 full
		list, total, err := db.ListArtifactTokens(ctx, proj.ID, ci.Page{Page: 1, PerPage: 2})
		if err != nil || total != 4 || len(list) != 2 || list[0].TokenHash != "h5" {
			t.Fatalf("ListArtifactTokens = %d %d %v", len(list), total, err)
		}
		if err := db.RevokeArtifactToken(ctx, proj.ID, t1.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		WantKind(t, db.RevokeArtifactToken(ctx, proj.ID+1000, t1.ID, time.Now()), ci.KindNotFound)
		got, _ = db.ArtifactTokenByID(ctx, proj.ID, t1.ID)
		if got.RevokedAt == nil {
			t.Fatal("not revoked")
		}
		WantKind(t, db.ClaimArtifactTokenUse(ctx, t1.ID, time.Now()), ci.KindUnauthorized)
		exp, _ := db.ArtifactTokenByHash(ctx, "h4")
		WantKind(t, db.ClaimArtifactTokenUse(ctx, exp.ID, time.Now()), ci.KindUnauthorized)

		for i := range 5 {
			if err := db.RecordArtifactTokenUse(ctx, &ci.ArtifactTokenUse{TokenID: t1.ID, UsedAt: time.Now(), RemoteAddr: "127.0.0.1",
				Route: "GET /x", Status: 200, Bytes: int64(i)}, 3); err != nil {
				t.Fatal(err)
			}
		}
		uses, total, err := db.ArtifactTokenUses(ctx, t1.ID, ci.Page{Page: 1, PerPage: 20})
		if err != nil || total != 3 || len(uses) != 3 || uses[0].Bytes != 4 || uses[2].Bytes != 2 || uses[0].Route != "GET /x" {
			t.Fatalf("ArtifactTokenUses = %+v %d %v", uses, total, err)
		}
	})
}

// TestArtifactTokenUsesAtomic: 24 concurrent claims (two connections pools
// on PostgreSQL stand for two replicas) of a token with max_uses 5 succeed
// exactly 5 times.
func TestArtifactTokenUsesAtomic(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		pl, jobs := MustPipeline(t, db, proj.ID, "main", map[string][]string{"build": {"a"}})
		tok := &ci.ArtifactToken{ProjectID: proj.ID, PipelineID: pl.ID, JobID: jobs[0].ID, TokenHash: "atomic", Jobs: []string{"a"},
			MaxUses: 5, ExpiresAt: time.Now().Add(time.Hour)}
		if err := db.CreateArtifactToken(ctx, tok, 0, 0); err != nil {
			t.Fatal(err)
		}
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		for range 24 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := db.ClaimArtifactTokenUse(ctx, tok.ID, time.Now())
				switch {
				case err == nil:
					ok.Add(1)
				case ci.KindOf(err) == ci.KindUnauthorized:
					refused.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got, _ := db.ArtifactTokenByHash(ctx, "atomic")
		if ok.Load() != 5 || refused.Load() != 19 || got.Uses != 5 {
			t.Fatalf("%d claims succeeded, %d refused, uses %d; want 5, 19, 5", ok.Load(), refused.Load(), got.Uses)
		}
	})
}

// TestArtifactTokenBoundsConcurrent: 12 concurrent mints into a pipeline
// bounded to 3 tokens create exactly 3.
func TestArtifactTokenBoundsConcurrent(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		pl, jobs := MustPipeline(t, db, proj.ID, "main", map[string][]string{"build": {"a"}})
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok := &ci.ArtifactToken{ProjectID: proj.ID, PipelineID: pl.ID, JobID: jobs[0].ID, TokenHash: fmt.Sprintf("c%d", i),
					Jobs: []string{"a"}, ExpiresAt: time.Now().Add(time.Hour)}
				switch err := db.CreateArtifactToken(ctx, tok, 3, 0); {
				case err == nil:
					ok.Add(1)
				case ci.KindOf(err) == ci.KindTooMany:
					refused.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		_, total, _ := db.ListArtifactTokens(ctx, proj.ID, ci.Page{})
		if ok.Load() != 3 || refused.Load() != 9 || total != 3 {
			t.Fatalf("%d created, %d refused, %d stored; want 3, 9, 3", ok.Load(), refused.Load(), total)
		}
	})
}
