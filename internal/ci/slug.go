package ci

import "strings"

// Slug is GitLab's slugify (Gitlab::Utils.slugify), behind
// CI_COMMIT_REF_SLUG, CI_PROJECT_PATH_SLUG and CI_JOB_NAME_SLUG, for rules
// and jobs alike: lowercase, every character other than a-z and 0-9
// replaced by one '-' (runs are not collapsed: "feature//x" is
// "feature--x"), cut to 63 characters, then leading and trailing '-'
// removed.
func Slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if b.Len() == 63 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}
