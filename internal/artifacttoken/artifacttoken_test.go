package artifacttoken_test

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/artifacttoken"
	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
	"github.com/batonci/baton/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// fixture is a pipeline with jobs build and docs, and a running minter.
func fixture(t *testing.T, db *store.DB) (*ci.Job, []string) {
	ctx := context.Background()
	u := storetest.MustUser(t, db)
	ns, _ := db.NamespaceOfUser(ctx, u.ID)
	proj := storetest.MustProject(t, db, ns.ID, ci.VisibilityPrivate)
	_, jobs := storetest.MustPipeline(t, db, proj.ID, "main", map[string][]string{"build": nil, "docs": nil, "deploy": nil})
	for _, j := range jobs {
		if j.Name == "deploy" {
			return j, []string{"build", "docs", "deploy"}
		}
	}
	t.Fatal("no deploy job")
	return nil, nil
}

// TestMintBounds: what a job may ask a token for, on both engines.
func TestMintBounds(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		minter, names := fixture(t, db)
		s := &artifacttoken.Service{Store: db, Limits: artifacttoken.Limits{MaxTTL: time.Hour, PerPipeline: 3}}
		many := make([]string, artifacttoken.MaxNames+1)
		for i := range many {
			many[i] = "a" + strings.Repeat("x", i)
		}
		for _, c := range []struct {
			name string
			req  artifacttoken.MintRequest
			want string // part of the 400's message; "" for success
		}{
			{"no jobs", artifacttoken.MintRequest{}, "jobs is missing"},
			{"job not in the pipeline", artifacttoken.MintRequest{Jobs: []string{"build", "nope"}}, `no job "nope"`},
			{"too long", artifacttoken.MintRequest{Jobs: []string{"build"}, ExpiresIn: 2 * time.Hour}, "--max-artifact-token-ttl"},
			{"negative ttl", artifacttoken.MintRequest{Jobs: []string{"build"}, ExpiresIn: -time.Second}, "positive"},
			{"bad artifact name", artifacttoken.MintRequest{Jobs: []string{"build"}, Artifacts: []string{"../x"}}, "not an artifact name"},
			{"too many artifacts", artifacttoken.MintRequest{Jobs: []string{"build"}, Artifacts: many}, "at most"},
			{"bad network", artifacttoken.MintRequest{Jobs: []string{"build"}, AllowedIPs: []string{"10.0.0.0/33"}}, "allowed_ips"},
			{"too many uses", artifacttoken.MintRequest{Jobs: []string{"build"}, MaxUses: artifacttoken.MaxUses + 1}, "max_uses"},
			{"newline in a name", artifacttoken.MintRequest{Jobs: []string{"build\ndocs"}}, "not a name"},
			{"fine", artifacttoken.MintRequest{Jobs: []string{"build", "docs", "build"}, AllowedIPs: []string{"10.1.2.3/8", "127.0.0.1"}, MaxUses: 2}, ""},
		} {
			tok, secret, err := s.Mint(context.Background(), minter, c.req, names)
			if c.want != "" {
				if ci.KindOf(err) != ci.KindInvalid || !strings.Contains(err.Error(), c.want) {
					t.Errorf("%s: %v, want 400 with %q", c.name, err, c.want)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if !strings.HasPrefix(secret, artifacttoken.Prefix) || tok.TokenHash != auth.Hash(secret) || strings.Contains(tok.TokenHash, secret) ||
				strings.Join(tok.Jobs, ",") != "build,docs" || strings.Join(tok.AllowedIPs, ",") != "10.0.0.0/8,127.0.0.1/32" ||
				tok.ExpiresAt.Sub(tok.CreatedAt) < 59*time.Minute || tok.PipelineID != minter.PipelineID || tok.JobID != minter.ID {
				t.Errorf("%s: minted %+v", c.name, tok)
			}
		}
		for range 2 {
			if _, _, err := s.Mint(context.Background(), minter, artifacttoken.MintRequest{Jobs: []string{"docs"}}, names); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := s.Mint(context.Background(), minter, artifacttoken.MintRequest{Jobs: []string{"docs"}}, names)
		if ci.KindOf(err) != ci.KindTooMany {
			t.Errorf("fourth token of a pipeline limited to 3: %v, want 429", err)
		}
	})
}

// TestCheck: a token is refused, always with the same 401, when it is
// unknown, not an artifact token, used from outside its networks, revoked
// or used up.
func TestCheck(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	minter, names := fixture(t, db)
	s := &artifacttoken.Service{Store: db}
	tok, secret, err := s.Mint(ctx, minter, artifacttoken.MintRequest{Jobs: []string{"build"}, AllowedIPs: []string{"127.0.0.1/32", "2001:db8::/32"}, MaxUses: 1}, names)
	if err != nil {
		t.Fatal(err)
	}
	local, v6, other := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("10.0.0.1")
	for _, addr := range []netip.Addr{local, v6} {
		if got, err := s.Check(ctx, secret, addr); err != nil || got.ID != tok.ID {
			t.Fatalf("Check from %s = %v, %v", addr, got, err)
		}
	}
	_, ref := s.Check(ctx, secret+"x", local)
	for name, try := range map[string]func() error{
		"other network": func() error { _, err := s.Check(ctx, secret, other); return err },
		"personal form": func() error { _, err := s.Check(ctx, "glpat-"+secret[len(artifacttoken.Prefix):], local); return err },
		"empty":         func() error { _, err := s.Check(ctx, "", local); return err },
	} {
		if err := try(); ci.KindOf(err) != ci.KindUnauthorized || ci.MessageOf(err) != ci.MessageOf(ref) {
			t.Errorf("%s: %v, want %v", name, err, ref)
		}
	}
	if err := s.Claim(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Check(ctx, secret, local); ci.KindOf(err) != ci.KindUnauthorized {
		t.Errorf("used up: %v, want 401", err)
	}
	if err := s.Claim(ctx, tok); ci.KindOf(err) != ci.KindUnauthorized {
		t.Errorf("claiming past max_uses: %v, want 401", err)
	}
	tok2, secret2, _ := s.Mint(ctx, minter, artifacttoken.MintRequest{Jobs: []string{"build"}}, names)
	if err := s.Revoke(ctx, tok2.ProjectID, tok2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Check(ctx, secret2, local); ci.KindOf(err) != ci.KindUnauthorized {
		t.Errorf("revoked: %v, want 401", err)
	}
}

// TestSecret: where a request carries an artifact token.
func TestSecret(t *testing.T) {
	for _, c := range []struct {
		url     string
		headers map[string]string
		want    string
	}{
		{"/x?sig=glatk-a", nil, "glatk-a"},
		{"/x?sig=glpat-a", nil, "glpat-a"}, // a sig= is always taken as the token: a wrong one is 401, not anonymous
		{"/x", map[string]string{"PRIVATE-TOKEN": "glatk-b"}, "glatk-b"},
		{"/x", map[string]string{"Authorization": "Bearer glatk-c"}, "glatk-c"},
		{"/x?private_token=glatk-d", nil, "glatk-d"},
		{"/x", map[string]string{"PRIVATE-TOKEN": "glpat-e"}, ""},
		{"/x", map[string]string{"JOB-TOKEN": "glcbt-f"}, ""},
		{"/x", map[string]string{"JOB-TOKEN": "glatk-g"}, ""}, // a job's header: not where a personal token goes
		{"/x?job_token=glatk-h", nil, ""},
		{"/x", map[string]string{"Authorization": "bearer  glatk-i "}, "glatk-i"},
		{"/x", nil, ""},
	} {
		r := httptest.NewRequest("GET", c.url, nil)
		for k, v := range c.headers {
			r.Header.Set(k, v)
		}
		if got := artifacttoken.Secret(r); got != c.want {
			t.Errorf("Secret(%s %v) = %q, want %q", c.url, c.headers, got, c.want)
		}
	}
}
