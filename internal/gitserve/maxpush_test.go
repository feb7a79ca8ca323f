package gitserve

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
)

// TestMaxPushSize: with MaxPushBytes set, a push whose pack is larger is
// refused by git with a message naming the limit, and the repository is
// as before: the ref did not move, the pushed objects are not kept, and
// OnPush hears nothing. A push under the limit goes through.
func TestMaxPushSize(t *testing.T) {
	s := MustGitServer(t)
	s.handler.MaxPushBytes = 64 << 10
	work := MustWorkTree(t)
	origin := s.url("g/app", alice, alicePW)
	git(t, work, "push", "--quiet", origin, "main")
	before := git(t, work, "rev-parse", "HEAD")
	repo := s.repos.Path(1)
	if got := git(t, "", "--git-dir="+repo, "rev-parse", "refs/heads/main"); got != before {
		t.Fatalf("small push: server main at %s, want %s", got, before)
	}
	s.pushes.take()

	// Random bytes do not compress: the pack is about 256 KiB.
	noise := make([]byte, 128<<10)
	_, _ = rand.Read(noise)
	writeFile(t, work, "big.bin", hex.EncodeToString(noise))
	git(t, work, "add", "-A")
	git(t, work, "commit", "--quiet", "-m", "too big")
	blob := git(t, work, "rev-parse", "HEAD:big.bin")
	out, err := gitErr(work, nil, "push", origin, "main")
	if err == nil {
		t.Fatalf("push over the limit succeeded:\n%s", out)
	}
	if !strings.Contains(out, "pack exceeds maximum allowed size") {
		t.Errorf("push over the limit: the client was not told why:\n%s", out)
	}
	if got := git(t, "", "--git-dir="+repo, "rev-parse", "refs/heads/main"); got != before {
		t.Errorf("refused push moved main to %s, want %s", got, before)
	}
	if _, err := gitErr("", nil, "--git-dir="+repo, "cat-file", "-e", blob); err == nil {
		t.Errorf("the refused push's blob %s is in the repository", blob)
	}
	s.handler.Wait()
	if calls := s.pushes.take(); len(calls) != 0 {
		t.Errorf("OnPush heard a refused push: %+v", calls)
	}
}
