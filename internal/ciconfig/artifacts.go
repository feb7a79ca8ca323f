package ciconfig

import (
	"github.com/batonci/baton/internal/ci"
)

var artifactsKeys = map[string]bool{
	"paths": true, "exclude": true, "name": true, "untracked": true, "when": true, "expire_in": true,
	"reports": true, "expose_as": true, "public": true, "access": true,
}

// reportTypes are the artifacts:reports keys GitLab knows; each is recorded
// with its paths.
var reportTypes = map[string]bool{
	"junit": true, "dotenv": true, "coverage_report": true, "codequality": true, "sast": true,
	"dependency_scanning": true, "container_scanning": true, "dast": true, "license_scanning": true,
	"performance": true, "browser_performance": true, "load_performance": true, "metrics": true,
	"requirements": true, "secret_detection": true, "terraform": true, "accessibility": true,
	"cyclonedx": true, "api_fuzzing": true, "coverage_fuzzing": true, "annotations": true,
	"repository_xray": true, "requirements_v2": true,
}

// parseArtifacts reads a job's artifacts: hash.
func parseArtifacts(n *node, where string, probs *problems) *ci.ArtifactsSpec {
	if n.kind != kindMap {
		probs.add("%s config should be a hash", where)
		return nil
	}
	if bad := unknownKeys(n, artifactsKeys); bad != "" {
		probs.add("%s config contains unknown keys: %s", where, bad)
		return nil
	}
	a := &ci.ArtifactsSpec{}
	for i, k := range n.keys {
		v := n.vals[i]
		if v.kind == kindNull {
			continue
		}
		kw := where + ":" + k
		switch k {
		case "paths", "exclude":
			list, ok := stringList(v, 1)
			if !ok {
				probs.add("%s config should be an array of strings", kw)
			}
			if k == "paths" {
				a.Paths = list
			} else {
				a.Exclude = list
			}
		case "name", "expose_as", "access":
			s, ok := scalarString(v)
			if !ok {
				probs.add("%s config should be a string", kw)
			}
			if k == "name" {
				a.Name = s
			}
		case "untracked", "public":
			b, ok := boolValueOf(v)
			if !ok {
				probs.add("%s config should be a boolean value", kw)
			}
			if k == "untracked" {
				a.Untracked = b
			}
		case "when":
			w, _ := scalarString(v)
			if w != "on_success" && w != "on_failure" && w != "always" {
				probs.add("%s config should be on_success, on_failure or always", kw)
			}
			a.When = w
		case "expire_in":
			s, ok := scalarString(v)
			if ok && s != "never" {
				_, err := parseDuration(s)
				ok = err == nil
			}
			if !ok {
				probs.add("%s config should be a duration", kw)
			}
			a.ExpireIn = s
		case "reports":
			a.Reports = parseReports(v, kw, probs)
		}
	}
	return a
}

func parseReports(n *node, where string, probs *problems) map[string][]string {
	if n.kind != kindMap {
		probs.add("%s config should be a hash", where)
		return nil
	}
	if bad := unknownKeys(n, reportTypes); bad != "" {
		probs.add("%s config contains unknown keys: %s", where, bad)
		return nil
	}
	out := make(map[string][]string, len(n.keys))
	for i, k := range n.keys {
		v := n.vals[i]
		if k == "coverage_report" && v.kind == kindMap {
			// {coverage_format: cobertura, path: coverage.xml}
			path, ok := scalarString(v.get("path"))
			if !ok {
				probs.add("%s:coverage_report:path config should be a string", where)
				continue
			}
			out[k] = []string{path}
			continue
		}
		list, ok := stringList(v, 1)
		if !ok {
			probs.add("%s:%s config should be a string or an array of strings", where, k)
			continue
		}
		out[k] = list
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
