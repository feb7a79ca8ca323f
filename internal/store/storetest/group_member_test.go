package storetest

import (
	"context"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

func TestGroupMembers(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		top := MustGroup(t, db, 0, ci.VisibilityPrivate)
		sub := MustGroup(t, db, top.ID, ci.VisibilityPrivate)
		dev, maint, owner := MustUser(t, db), MustUser(t, db), MustUser(t, db)
		personal, _ := db.NamespaceOfUser(ctx, owner.ID)
		must(t, db.SetMember(ctx, &ci.Member{UserID: dev.ID, NamespaceID: top.ID, AccessLevel: ci.AccessDeveloper}))
		must(t, db.SetMember(ctx, &ci.Member{UserID: maint.ID, NamespaceID: sub.ID, AccessLevel: ci.AccessMaintainer}))
		for _, tc := range []struct {
			name     string
			user, ns int64
			want     ci.AccessLevel
		}{
			{"direct", dev.ID, top.ID, ci.AccessDeveloper},
			{"inherited", dev.ID, sub.ID, ci.AccessDeveloper},
			{"not upwards", maint.ID, top.ID, ci.AccessNone},
			{"subgroup member", maint.ID, sub.ID, ci.AccessMaintainer},
			{"personal namespace owner", owner.ID, personal.ID, ci.AccessOwner},
			{"someone else's personal namespace", dev.ID, personal.ID, ci.AccessNone},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := db.NamespaceAccessLevel(ctx, tc.user, tc.ns)
				if err != nil || got != tc.want {
					t.Errorf("NamespaceAccessLevel = %d, %v; want %d", got, err, tc.want)
				}
			})
		}
		_, err := db.NamespaceAccessLevel(ctx, dev.ID, 9999)
		WantKind(t, err, ci.KindNotFound)
		ms, err := db.ListNamespaceMembers(ctx, sub.ID)
		if err != nil || len(ms) != 1 || ms[0].UserID != maint.ID || ms[0].NamespaceID != sub.ID || ms[0].AccessLevel != ci.AccessMaintainer {
			t.Errorf("ListNamespaceMembers = %+v, %v", ms, err)
		}
	})
}
