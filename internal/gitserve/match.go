package gitserve

import "strings"

// The smart-HTTP endpoints below a repository path.
const (
	restInfoRefs    = "/info/refs"
	restUploadPack  = "/git-upload-pack"
	restReceivePack = "/git-receive-pack"
)

// Match reports whether a request path is a git smart-HTTP path and splits it
// into the project's full path and the endpoint:
//
//	"/g/sub/app.git/info/refs"       → ("g/sub/app", "/info/refs", true)
//	"/g/app.git/git-upload-pack"     → ("g/app", "/git-upload-pack", true)
//	"/g/app/git-receive-pack"        → ("g/app", "/git-receive-pack", true)
//
// The ".git" suffix is optional, as on GitLab, so `git clone http://host/g/app`
// works too. Only the three smart endpoints match (dumb-protocol paths such
// as ".../HEAD" or ".../objects/..." do not), and the project path must have
// at least two clean segments (namespace and project).
func Match(path string) (fullPath, rest string, ok bool) {
	for _, suffix := range []string{restInfoRefs, restUploadPack, restReceivePack} {
		prefix, found := strings.CutSuffix(path, suffix)
		if !found {
			continue
		}
		prefix, found = strings.CutPrefix(prefix, "/")
		if !found {
			return "", "", false
		}
		prefix = strings.TrimSuffix(prefix, ".git")
		if !cleanProjectPath(prefix) {
			return "", "", false
		}
		return prefix, suffix, true
	}
	return "", "", false
}

// cleanProjectPath reports whether p looks like "namespace/.../project".
func cleanProjectPath(p string) bool {
	segs := strings.Split(p, "/")
	if len(segs) < 2 {
		return false
	}
	for _, s := range segs {
		if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "\\\x00") {
			return false
		}
	}
	return true
}
