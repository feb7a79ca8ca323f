package gitserve

import (
	"context"
	"reflect"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

func TestChangedPaths(t *testing.T) {
	h := mustHistory(t)
	tests := []struct {
		name         string
		from, to     string
		mergeBase    bool
		max          int
		want         []string
		wantComplete bool
		kind         ci.Kind
	}{
		{name: "change and deletion", from: h.c1, to: h.c2, max: 100, want: []string{".gitlab-ci.yml", "dir/sub.txt"}, wantComplete: true},
		{name: "straight against a side branch", from: h.c2, to: h.side, max: 100, want: []string{".gitlab-ci.yml", "dir/sub.txt", "side.txt"}, wantComplete: true},
		{name: "from the merge base", from: h.c2, to: h.side, mergeBase: true, max: 100, want: []string{"side.txt"}, wantComplete: true},
		{name: "by tag and branch name", from: "v2", to: "side", mergeBase: true, max: 100, want: []string{"side.txt"}, wantComplete: true},
		{name: "bounded", from: h.c1, to: h.c2, max: 1, want: []string{".gitlab-ci.yml"}},
		{name: "same commit", from: h.c2, to: h.c2, max: 100, want: []string{}, wantComplete: true},
		{name: "unknown revision", from: "nope", to: h.c2, max: 100, kind: ci.KindNotFound},
		{name: "option-like revision", from: "--output=x", to: h.c2, max: 100, kind: ci.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, complete, err := h.r.ChangedPaths(context.Background(), 1, tt.from, tt.to, tt.mergeBase, tt.max)
			if tt.kind != "" {
				if ci.KindOf(err) != tt.kind {
					t.Fatalf("err = %v, want kind %s", err, tt.kind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) || complete != tt.wantComplete {
				t.Errorf("got %q complete %v, want %q complete %v", got, complete, tt.want, tt.wantComplete)
			}
		})
	}
}

func TestListPaths(t *testing.T) {
	h := mustHistory(t)
	got, complete, err := h.r.ListPaths(context.Background(), 1, h.c1, 100)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{".gitlab-ci.yml", "big.txt", "dir/sub.txt"}; !reflect.DeepEqual(got, want) || !complete {
		t.Errorf("ListPaths(c1) = %q complete %v, want %q complete", got, complete, want)
	}
	got, complete, err = h.r.ListPaths(context.Background(), 1, h.c1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{".gitlab-ci.yml", "big.txt"}; !reflect.DeepEqual(got, want) || complete {
		t.Errorf("ListPaths(c1, 2) = %q complete %v, want %q incomplete", got, complete, want)
	}
	if _, _, err := h.r.ListPaths(context.Background(), 1, "nope", 2); !ci.IsNotFound(err) {
		t.Errorf("ListPaths(nope) = %v, want KindNotFound", err)
	}
}
