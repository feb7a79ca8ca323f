package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

func TestUsers(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := &ci.User{Username: "alice", Name: "Alice", Email: "alice@example.com", Admin: true}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		if u.ID == 0 || u.CreatedAt.IsZero() {
			t.Fatalf("CreateUser did not set ID and CreatedAt: %+v", u)
		}
		t.Run("by id and username", func(t *testing.T) {
			for _, get := range []func() (*ci.User, error){
				func() (*ci.User, error) { return db.UserByID(ctx, u.ID) },
				func() (*ci.User, error) { return db.UserByUsername(ctx, "alice") },
			} {
				got, err := get()
				if err != nil {
					t.Fatal(err)
				}
				if *got != *u {
					t.Errorf("got %+v, want %+v", got, u)
				}
			}
		})
		t.Run("personal namespace", func(t *testing.T) {
			ns, err := db.NamespaceOfUser(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if ns.Kind != ci.NamespaceUser || ns.FullPath != "alice" || ns.OwnerID != u.ID {
				t.Errorf("personal namespace = %+v", ns)
			}
		})
		t.Run("taken username", func(t *testing.T) {
			err := db.CreateUser(ctx, &ci.User{Username: "alice"})
			WantKind(t, err, ci.KindConflict)
			if ci.MessageOf(err) != `username "alice" is already taken` {
				t.Errorf("message = %q", ci.MessageOf(err))
			}
		})
		t.Run("username taken by a group", func(t *testing.T) {
			if err := db.CreateGroup(ctx, &ci.Namespace{Path: "bob"}); err != nil {
				t.Fatal(err)
			}
			WantKind(t, db.CreateUser(ctx, &ci.User{Username: "bob"}), ci.KindConflict)
			_, err := db.UserByUsername(ctx, "bob")
			WantKind(t, err, ci.KindNotFound)
		})
		t.Run("missing", func(t *testing.T) {
			_, err := db.UserByID(ctx, 9999)
			WantKind(t, err, ci.KindNotFound)
			if ci.MessageOf(err) != "user 9999 not found" {
				t.Errorf("message = %q", ci.MessageOf(err))
			}
		})
		t.Run("personal tokens", func(t *testing.T) {
			exp := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC)
			tok := &ci.PersonalToken{UserID: u.ID, Name: "ci", Scopes: []string{"api", "read_repository"},
				TokenHash: "abc", ExpiresAt: &exp}
			if err := db.CreatePersonalToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			got, err := db.PersonalTokenByHash(ctx, "abc")
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != tok.ID || got.Name != "ci" || len(got.Scopes) != 2 || !got.ExpiresAt.Equal(exp.Truncate(time.Microsecond)) ||
				got.LastUsedAt != nil || got.Revoked || !got.CreatedAt.Equal(tok.CreatedAt) {
				t.Errorf("got %+v, want %+v", got, tok)
			}
			at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
			if err := db.TouchPersonalToken(ctx, tok.ID, at); err != nil {
				t.Fatal(err)
			}
			got, _ = db.PersonalTokenByHash(ctx, "abc")
			if got.LastUsedAt == nil || !got.LastUsedAt.Equal(at) {
				t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, at)
			}
			WantKind(t, db.CreatePersonalToken(ctx, &ci.PersonalToken{UserID: u.ID, Name: "x", TokenHash: "abc"}), ci.KindConflict)
			WantKind(t, db.CreatePersonalToken(ctx, &ci.PersonalToken{UserID: 9999, Name: "x", TokenHash: "def"}), ci.KindInvalid)
			_, err = db.PersonalTokenByHash(ctx, "nope")
			WantKind(t, err, ci.KindNotFound)
			WantKind(t, db.TouchPersonalToken(ctx, 9999, at), ci.KindNotFound)
		})
		t.Run("personal token with its user", func(t *testing.T) {
			for i, scopes := range [][]string{{}, {"api"}, {"read_api", "create_runner"}, {"with \"quote", "x,y", `a","b`}} {
				hash := fmt.Sprintf("joined-%d", i)
				tok := &ci.PersonalToken{UserID: u.ID, Name: "joined", Scopes: scopes, TokenHash: hash}
				if err := db.CreatePersonalToken(ctx, tok); err != nil {
					t.Fatal(err)
				}
				got, gu, err := db.PersonalTokenWithUser(ctx, hash)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := db.PersonalTokenByHash(ctx, hash)
				wantUser, _ := db.UserByID(ctx, u.ID)
				if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gu, wantUser) {
					t.Errorf("PersonalTokenWithUser = %+v, %+v; want %+v, %+v", got, gu, want, wantUser)
				}
				if !reflect.DeepEqual(got.Scopes, scopes) {
					t.Errorf("scopes = %q, want %q", got.Scopes, scopes)
				}
			}
			_, _, err := db.PersonalTokenWithUser(ctx, "nope")
			WantKind(t, err, ci.KindNotFound)
		})
	})
}

func TestSettings(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, err := db.Setting(ctx, "registration_token")
		WantKind(t, err, ci.KindNotFound)
		for _, v := range []string{"one", "two"} {
			if err := db.SetSetting(ctx, "registration_token", v); err != nil {
				t.Fatal(err)
			}
			got, err := db.Setting(ctx, "registration_token")
			if err != nil || got != v {
				t.Errorf("Setting = %q, %v; want %q", got, err, v)
			}
		}
	})
}

func TestPingAndDialect(t *testing.T) {
	for _, e := range Engines() {
		t.Run(e.Name, func(t *testing.T) {
			db := e.Open(t)
			if err := db.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
			if db.Dialect() != e.Name {
				t.Errorf("Dialect = %q, want %q", db.Dialect(), e.Name)
			}
			db.Close()
			WantKind(t, db.Ping(context.Background()), ci.KindUnavailable)
		})
	}
}
