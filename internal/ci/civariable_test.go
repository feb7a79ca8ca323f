package ci

import (
	"bytes"
	"strings"
	"testing"
)

// TestPrecedence is GitLab's documented precedence, one row per pair of
// neighbours: the higher layer's value wins over the lower one's, and a
// reserved predefined variable stays whatever layer sets it.
func TestPrecedence(t *testing.T) {
	layer := func(l *VariableLayers, name string, v []Variable) {
		switch name {
		case "predefined":
			l.Predefined = v
		case "deployment":
			l.Deployment = v
		case "yaml global":
			l.YAMLGlobal = v
		case "yaml job":
			l.YAMLJob = v
		case "dotenv":
			l.Dotenv = v
		case "instance":
			l.Instance = v
		case "farthest group":
			l.Groups = append([][]Variable{v}, l.Groups...)
		case "closest group":
			l.Groups = append(l.Groups, v)
		case "project":
			l.Project = v
		case "pipeline":
			l.Pipeline = v
		default:
			t.Fatalf("unknown layer %q", name)
		}
	}
	order := []string{"predefined", "deployment", "yaml global", "yaml job", "dotenv", "instance", "farthest group", "closest group", "project", "pipeline"}
	for i := 0; i+1 < len(order); i++ {
		lower, higher := order[i], order[i+1]
		t.Run(higher+" over "+lower, func(t *testing.T) {
			var l VariableLayers
			if lower == "farthest group" {
				layer(&l, "farthest group", []Variable{{Key: "X", Value: lower}})
				l.Groups = append(l.Groups, []Variable{{Key: "X", Value: higher}})
			} else {
				layer(&l, lower, []Variable{{Key: "X", Value: lower}})
				layer(&l, higher, []Variable{{Key: "X", Value: higher}})
			}
			if got, _ := Lookup(JobVariables(l), "X"); got != higher {
				t.Errorf("X = %q, want %q's value", got, higher)
			}
		})
	}
	var l VariableLayers
	for _, name := range order {
		layer(&l, name, []Variable{{Key: "CI_JOB_TOKEN", Value: name}, {Key: "CI_COMMIT_REF_PROTECTED", Value: name}})
	}
	vars := JobVariables(l)
	for _, k := range []string{"CI_JOB_TOKEN", "CI_COMMIT_REF_PROTECTED"} {
		if got, _ := Lookup(vars, k); got != "predefined" {
			t.Errorf("%s = %q, want the predefined value", k, got)
		}
	}
}

func TestForJob(t *testing.T) {
	s := ScopedVariables{
		Project: []CIVariable{
			{Key: "PLAIN", Value: "p", Environment: "*"},
			{Key: "SECRET", Value: "s", Protected: true, Masked: true, Environment: "*"},
			{Key: "URL", Value: "any", Environment: "*"},
			{Key: "URL", Value: "review", Environment: "review/*"},
			{Key: "URL", Value: "prod", Environment: "production"},
			{Key: "FILE", Value: "f", File: true, Raw: true, Environment: "*"},
		},
	}
	for _, tc := range []struct {
		protected bool
		env       string
		want      string // KEY=value,... in key order of the input
	}{
		{false, "", "PLAIN=p,URL=any,FILE=f"},
		{true, "", "PLAIN=p,SECRET=s,URL=any,FILE=f"},
		{false, "review/feature-1", "PLAIN=p,URL=review,FILE=f"},
		{false, "production", "PLAIN=p,URL=prod,FILE=f"},
		{false, "staging", "PLAIN=p,URL=any,FILE=f"},
	} {
		_, _, got := s.ForJob(tc.protected, tc.env)
		var parts []string
		for _, v := range got {
			parts = append(parts, v.Key+"="+v.Value)
			if v.Key == "SECRET" && !v.Masked || v.Key == "FILE" && (!v.File || !v.Raw) {
				t.Errorf("%s lost its flags: %+v", v.Key, v)
			}
		}
		if g := strings.Join(parts, ","); g != tc.want {
			t.Errorf("ForJob(%v, %q) = %s, want %s", tc.protected, tc.env, g, tc.want)
		}
	}
}

func TestMatchesEnvironment(t *testing.T) {
	for _, tc := range []struct {
		scope, env string
		want       bool
	}{
		{"*", "", true},
		{"*", "production", true},
		{"production", "production", true},
		{"production", "production2", false},
		{"production", "", false},
		{"review/*", "review/a/b", true},
		{"review/*", "reviewer", false},
		{"*-prod", "eu-prod", true},
		{"*-prod", "eu-prod-2", false},
		{"a*c*e", "abcde", true},
		{"a*c*e", "abde", false},
	} {
		if got := MatchesEnvironment(tc.scope, tc.env); got != tc.want {
			t.Errorf("MatchesEnvironment(%q, %q) = %v, want %v", tc.scope, tc.env, got, tc.want)
		}
	}
}

func TestMaskable(t *testing.T) {
	for _, tc := range []struct {
		value string
		raw   bool
		ok    bool
	}{
		{"abcdefgh", false, true},
		{"abcdefg", false, false},
		{"aB3+/=_-@:.~xyz", false, true},
		{"has space", false, false},
		{"two\nlines!", false, false},
		{"dollar$sign", false, false},
		{"dollar$sign", true, true},
		{"raw with space", true, false},
		{"tab\tinside", true, false},
	} {
		if err := Maskable(tc.value, tc.raw); (err == nil) != tc.ok {
			t.Errorf("Maskable(%q, raw %v) = %v, want ok %v", tc.value, tc.raw, err, tc.ok)
		}
	}
}

// TestTraceMask feeds a log in every split into two patches and checks
// that no stored prefix ever holds the secret, and that the stored log
// keeps the runner's length.
func TestTraceMask(t *testing.T) {
	secret := "topsecret-123"
	log := "before " + secret + " between topsecret-12 after " + secret
	m := NewTraceMask([]string{secret, "short", ""})
	var at []int // where the secret occurs in the log
	for i := 0; ; {
		j := strings.Index(log[i:], secret)
		if j < 0 {
			break
		}
		at = append(at, i+j)
		i += j + 1
	}
	for cut := 0; cut <= len(log); cut++ {
		out1, keep := m.Mask(nil, []byte(log[:cut]))
		for _, a := range at {
			// What the first patch stored of an occurrence (even one that
			// only completes in the second patch) is masked.
			if end := min(a+len(secret), len(out1)); end > a && string(out1[a:end]) == log[a:end] {
				t.Fatalf("cut %d: stored %q shows %q of the secret", cut, out1, log[a:end])
			}
		}
		out2, keep2 := m.Mask(keep, []byte(log[cut:]))
		stored := string(out1) + string(out2) + string(FlushPending(keep2))
		if strings.Contains(stored, secret) {
			t.Fatalf("cut %d: stored log %q holds the secret", cut, stored)
		}
		if len(stored) != len(log) {
			t.Fatalf("cut %d: stored %d bytes, the runner sent %d", cut, len(stored), len(log))
		}
		if want := strings.ReplaceAll(log, secret, MaskedText+"*****"); stored != want {
			t.Fatalf("cut %d: stored %q, want %q", cut, stored, want)
		}
	}
	if !NewTraceMask([]string{"short"}).Empty() {
		t.Errorf("a mask of a value under 8 characters is not empty")
	}
}

// BenchmarkTraceMask masks a 1 MiB trace patch against a job's masked
// values (five variables and the job token), as a runner's largest PATCH.
func BenchmarkTraceMask(b *testing.B) {
	m := NewTraceMask([]string{"glcbt-0123456789abcdef0123", "s3cr3t-one", "s3cr3t-two-longer", "AKIAIOSFODNN7EXAMPLE", "x@y:z.w~v", "base64+/=value=="})
	line := []byte("compiling package github.com/example/app/internal/thing ... ok 0.123s\n")
	patch := bytes.Repeat(line, (1<<20)/len(line))
	b.SetBytes(int64(len(patch)))
	b.ResetTimer()
	for range b.N {
		m.Mask(nil, patch)
	}
}
