package ciconfig

import "testing"

func TestExpression(t *testing.T) {
	env := map[string]string{
		"CI_COMMIT_BRANCH":   "main",
		"CI_DEFAULT_BRANCH":  "main",
		"CI_COMMIT_REF_NAME": "main",
		"CI_PIPELINE_SOURCE": "push",
		"CI_COMMIT_MESSAGE":  "Release v1.2 [skip tests]",
		"EMPTY":              "",
		"PATTERN":            "/^ma/",
	}
	tests := []struct {
		expr string
		want bool
	}{
		{`$CI_COMMIT_BRANCH == "main"`, true},
		{`$CI_COMMIT_BRANCH == 'main'`, true},
		{`$CI_COMMIT_BRANCH != "main"`, false},
		{`$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH`, true},
		{`${CI_COMMIT_BRANCH} == "main"`, true},
		{`$CI_COMMIT_TAG`, false},
		{`$CI_COMMIT_BRANCH`, true},
		{`$EMPTY`, false},
		{`$CI_COMMIT_TAG == null`, true},
		{`$EMPTY == null`, false},
		{`$EMPTY == ""`, true},
		{`$CI_COMMIT_TAG == ""`, false},
		{`$CI_COMMIT_TAG != null`, false},
		{`$CI_COMMIT_MESSAGE =~ /\[skip tests\]/`, true},
		{`$CI_COMMIT_MESSAGE =~ /RELEASE/`, false},
		{`$CI_COMMIT_MESSAGE =~ /RELEASE/i`, true},
		{`$CI_COMMIT_MESSAGE !~ /release/`, true},
		{`$CI_COMMIT_REF_NAME =~ /^feature\/.*/`, false},
		{`$CI_COMMIT_REF_NAME =~ $PATTERN`, true},
		{`$UNDEFINED =~ /^$/`, true},
		{`$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == "main"`, true},
		{`$CI_PIPELINE_SOURCE == "web" || $CI_COMMIT_BRANCH == "main"`, true},
		{`$CI_PIPELINE_SOURCE == "web" || $CI_COMMIT_BRANCH == "dev" && $CI_COMMIT_TAG`, false},
		{`$CI_PIPELINE_SOURCE == "push" || $CI_COMMIT_BRANCH == "dev" && $CI_COMMIT_TAG`, true},
		{`($CI_PIPELINE_SOURCE == "push" || $CI_COMMIT_BRANCH == "dev") && $CI_COMMIT_TAG`, false},
		{`(($CI_COMMIT_BRANCH == "main"))`, true},
		{`"non-empty"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := parseExpression(tt.expr)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := e.eval(env).truthy(); got != tt.want {
				t.Errorf("= %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExpressionErrors(t *testing.T) {
	for _, src := range []string{
		`$A ==`,
		`$A = "x"`,
		`($A == "x"`,
		`$A == "x")`,
		`"unterminated`,
		`$A =~ /unterminated`,
		`$A =~ /(/`,
		`$A =~ "not a regex"`,
		`$A == "x" &&`,
		`$`,
		`$A $B`,
		`$A =~ /x/q`,
	} {
		t.Run(src, func(t *testing.T) {
			if _, err := parseExpression(src); err == nil {
				t.Errorf("parse succeeded, want an error")
			}
		})
	}
}
