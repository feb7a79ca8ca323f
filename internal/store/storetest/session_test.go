package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

func TestSessions(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		alice, bob := MustUser(t, db), MustUser(t, db)
		token := func(u *ci.User) *ci.PersonalToken {
			tok := &ci.PersonalToken{UserID: u.ID, Name: "web", Scopes: []string{ci.ScopeAPI}, TokenHash: fmt.Sprintf("hash-%d-%d", u.ID, seq.Add(1))}
			if err := db.CreatePersonalToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			return tok
		}
		aliceTok, bobTok := token(alice), token(bob)
		far := time.Now().Add(time.Hour)
		idle := time.Now().Add(-time.Hour)
		create := func(u *ci.User, tok *ci.PersonalToken, hash string, keep int) *ci.Session {
			t.Helper()
			s := &ci.Session{UserID: u.ID, TokenID: tok.ID, SecretHash: hash, UserAgent: "curl/8", IP: "192.0.2.1", ExpiresAt: far}
			if err := db.CreateSession(ctx, s, keep, idle); err != nil {
				t.Fatalf("CreateSession: %v", err)
			}
			return s
		}
		s1 := create(alice, aliceTok, "s1", 50)
		if s1.ID == 0 || s1.CreatedAt.IsZero() || !s1.LastSeenAt.Equal(s1.CreatedAt) {
			t.Fatalf("CreateSession did not fill in %+v", s1)
		}
		got, err := db.SessionByHash(ctx, "s1")
		if err != nil || *got != *s1 {
			t.Fatalf("SessionByHash = %+v, %v; want %+v", got, err, s1)
		}
		_, err = db.SessionByHash(ctx, "nope")
		WantKind(t, err, ci.KindNotFound)
		WantKind(t, db.CreateSession(ctx, &ci.Session{UserID: alice.ID, TokenID: aliceTok.ID, SecretHash: "s1", ExpiresAt: far}, 50, idle), ci.KindConflict)
		tok, err := db.PersonalTokenByID(ctx, s1.TokenID)
		if err != nil || tok.TokenHash != aliceTok.TokenHash {
			t.Fatalf("PersonalTokenByID = %+v, %v", tok, err)
		}
		_, err = db.PersonalTokenByID(ctx, 99999)
		WantKind(t, err, ci.KindNotFound)

		t.Run("touch", func(t *testing.T) {
			at := time.Now().Add(time.Minute).UTC().Truncate(time.Microsecond)
			if err := db.TouchSession(ctx, s1.ID, at); err != nil {
				t.Fatal(err)
			}
			got, _ := db.SessionByHash(ctx, "s1")
			if !got.LastSeenAt.Equal(at) {
				t.Errorf("LastSeenAt = %v, want %v", got.LastSeenAt, at)
			}
			WantKind(t, db.TouchSession(ctx, 99999, at), ci.KindNotFound)
		})

		t.Run("users delete only their own sessions", func(t *testing.T) {
			b := create(bob, bobTok, "b1", 50)
			WantKind(t, db.DeleteSession(ctx, alice.ID, b.ID), ci.KindNotFound)
			if _, err := db.SessionByHash(ctx, "b1"); err != nil {
				t.Fatalf("bob's session after alice tried to delete it: %v", err)
			}
			if err := db.DeleteSession(ctx, bob.ID, b.ID); err != nil {
				t.Fatal(err)
			}
			_, err := db.SessionByHash(ctx, "b1")
			WantKind(t, err, ci.KindNotFound)
		})

		t.Run("bounded per user, newest kept", func(t *testing.T) {
			var last []*ci.Session
			for i := 0; i < 8; i++ {
				last = append(last, create(alice, aliceTok, fmt.Sprintf("k%d", i), 5))
			}
			list, err := db.ListSessions(ctx, alice.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 5 {
				t.Fatalf("%d sessions kept, want 5", len(list))
			}
			for i, s := range list {
				if want := last[len(last)-1-i]; s.ID != want.ID {
					t.Errorf("session %d is %d, want %d (newest first)", i, s.ID, want.ID)
				}
			}
			if l, _ := db.ListSessions(ctx, bob.ID); len(l) != 0 {
				t.Errorf("bob has %d sessions, want 0", len(l))
			}
		})

		t.Run("ended sessions are deleted on the next sign-in", func(t *testing.T) {
			carol := MustUser(t, db)
			tok := token(carol)
			expired := &ci.Session{UserID: carol.ID, TokenID: tok.ID, SecretHash: "c-expired", ExpiresAt: time.Now().Add(-time.Second)}
			if err := db.CreateSession(ctx, expired, 50, idle); err != nil {
				t.Fatal(err)
			}
			stale := create(carol, tok, "c-stale", 50)
			if err := db.TouchSession(ctx, stale.ID, idle.Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
			fresh := create(carol, tok, "c-fresh", 50)
			list, _ := db.ListSessions(ctx, carol.ID)
			if len(list) != 1 || list[0].ID != fresh.ID {
				t.Errorf("sessions after sign-in: %+v, want only %d", list, fresh.ID)
			}
		})

		t.Run("deleting the user deletes its sessions", func(t *testing.T) {
			var n int
			if _, err := db.SQL().Exec(fmt.Sprintf(`DELETE FROM users WHERE id = %d`, alice.ID)); err != nil {
				t.Fatal(err)
			}
			if err := db.SQL().QueryRow(fmt.Sprintf(`SELECT COUNT(*) FROM web_sessions WHERE user_id = %d`, alice.ID)).Scan(&n); err != nil || n != 0 {
				t.Errorf("%d sessions of a deleted user, %v", n, err)
			}
		})
	})
}
