package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// prepare creates the job's directories and returns the environment of its
// shells: the runner's own environment, the job variables (values of
// non-raw variables with $VAR references expanded; file variables as paths
// of temporary files holding the value) and the runner's predefined
// variables (CI_PROJECT_DIR, CI_BUILDS_DIR, CI_CONCURRENT_ID, CI_RUNNER_*).
func (j *job) prepare() ([]string, error) {
	if err := os.MkdirAll(j.tmpDir, 0o700); err != nil {
		return nil, &systemError{fmt.Errorf("creating temporary dir: %w", err)}
	}
	predefined := []jobVariable{
		{Key: "CI_PROJECT_DIR", Value: j.projectDir},
		{Key: "CI_BUILDS_DIR", Value: j.r.cfg.BuildsDir},
		{Key: "CI_SERVER", Value: "yes"},
		{Key: "CI", Value: "true"},
		{Key: "GITLAB_CI", Value: "true"},
		{Key: "CI_CONCURRENT_ID", Value: strconv.Itoa(j.slot)},
		{Key: "CI_CONCURRENT_PROJECT_ID", Value: strconv.Itoa(j.slot)},
		{Key: "CI_RUNNER_VERSION", Value: ProtocolVersion},
		{Key: "CI_RUNNER_REVISION", Value: "baton"},
		{Key: "CI_RUNNER_SHORT_TOKEN", Value: shortToken(j.r.cfg.Token)},
		{Key: "CI_RUNNER_EXECUTABLE_ARCH", Value: runtime.GOOS + "/" + runtime.GOARCH},
	}
	vars := append(append([]jobVariable(nil), j.p.Variables...), predefined...)
	lookup := map[string]string{}
	for _, v := range vars {
		lookup[v.Key] = v.Value
	}
	env := os.Environ()
	j.vars = map[string]string{}
	for _, v := range vars {
		if v.Key == "" || strings.ContainsAny(v.Key, "=\x00") {
			continue
		}
		val := v.Value
		if !v.Raw {
			val = expand(val, lookup)
		}
		if v.File {
			path := filepath.Join(j.tmpDir, fileVarName(v.Key))
			if err := os.WriteFile(path, []byte(val), 0o600); err != nil {
				return nil, &systemError{fmt.Errorf("writing file variable %s: %w", v.Key, err)}
			}
			val = path
		}
		val = strings.ReplaceAll(val, "\x00", "")
		j.vars[v.Key] = val
		env = append(env, v.Key+"="+val)
	}
	return j.batonOnPath(env)
}

// batonOnPath links the runner's Baton executable as TMP/bin/baton and
// puts that directory first on the job's PATH (after its variables, so a
// job that sets PATH still finds it).
func (j *job) batonOnPath(env []string) ([]string, error) {
	exe := j.r.cfg.Baton
	if exe == "-" {
		return env, nil
	}
	bin := filepath.Join(j.tmpDir, "bin")
	if err := os.MkdirAll(bin, 0o700); err != nil {
		return nil, &systemError{fmt.Errorf("creating the job's bin dir: %w", err)}
	}
	link := filepath.Join(bin, "baton")
	_ = os.Remove(link)
	if err := os.Symlink(exe, link); err != nil {
		return nil, &systemError{fmt.Errorf("linking baton into the job's bin dir: %w", err)}
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v // the last one wins, as in exec
		}
	}
	if path == "" {
		return append(env, "PATH="+bin), nil
	}
	return append(env, "PATH="+bin+string(os.PathListSeparator)+path), nil
}

// expand replaces $VAR and ${VAR} with the job's variables in one pass, like
// gitlab-runner; unknown names become empty and "$$" stays a literal "$".
func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	return os.Expand(s, func(name string) string {
		if name == "$" {
			return "$"
		}
		return vars[name]
	})
}

func fileVarName(key string) string {
	return strings.Map(func(c rune) rune {
		if c == '/' || c == '\\' || c == '.' {
			return '_'
		}
		return c
	}, key)
}
