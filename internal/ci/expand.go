package ci

import "regexp"

var varRef = regexp.MustCompile(`\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))`)

// ExpandExisting replaces $VAR and ${VAR} by their values in env, one
// level deep (a value is not expanded again); a variable env does not
// have stays as written (GitLab's ExpandVariables.expand_existing, used
// for include, trigger:project, needs:project and rules paths).
func ExpandExisting(s string, env map[string]string) string {
	return varRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := varRef.FindStringSubmatch(m)
		if v, ok := env[sub[1]+sub[2]]; ok {
			return v
		}
		return m
	})
}
