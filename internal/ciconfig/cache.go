package ciconfig

import (
	"strings"

	"github.com/batonci/baton/internal/ci"
)

var cacheKeys = map[string]bool{
	"key": true, "paths": true, "untracked": true, "unprotect": true, "policy": true, "when": true, "fallback_keys": true,
}

// maxCacheKeyFiles and maxFallbackKeys are GitLab's limits.
const (
	maxCacheKeyFiles = 2
	maxFallbackKeys  = 5
)

// parseCache reads a job's cache: one hash or an array of up to
// ci.MaxCaches hashes.
func parseCache(n *node, where string, probs *problems) []ci.CacheSpec {
	switch n.kind {
	case kindMap:
		if c, ok := parseOneCache(n, where, probs); ok {
			return []ci.CacheSpec{c}
		}
		return nil
	case kindSeq:
		if len(n.items) > ci.MaxCaches {
			probs.add("%s config no more than %d caches can be created", where, ci.MaxCaches)
			return nil
		}
		var out []ci.CacheSpec
		for _, item := range n.items {
			if item.kind == kindNull {
				continue
			}
			if item.kind != kindMap {
				probs.add("%s config should be a hash or an array of hashes", where)
				return nil
			}
			if c, ok := parseOneCache(item, where, probs); ok {
				out = append(out, c)
			}
		}
		return out
	}
	probs.add("%s config should be a hash or an array of hashes", where)
	return nil
}

func parseOneCache(n *node, where string, probs *problems) (ci.CacheSpec, bool) {
	c := ci.CacheSpec{Key: "default"}
	if bad := unknownKeys(n, cacheKeys); bad != "" {
		probs.add("%s config contains unknown keys: %s", where, bad)
		return c, false
	}
	before := len(probs.list)
	for i, k := range n.keys {
		v := n.vals[i]
		if v.kind == kindNull {
			continue
		}
		kw := where + ":" + k
		switch k {
		case "key":
			parseCacheKey(v, kw, &c, probs)
		case "paths", "fallback_keys":
			list, ok := stringList(v, 1)
			if !ok {
				probs.add("%s config should be an array of strings", kw)
			}
			if k == "paths" {
				c.Paths = list
			} else if len(list) > maxFallbackKeys {
				probs.add("%s config must be an array of up to %d strings", kw, maxFallbackKeys)
			} else {
				c.FallbackKeys = list
			}
		case "untracked", "unprotect":
			b, ok := boolValueOf(v)
			if !ok {
				probs.add("%s config should be a boolean value", kw)
			}
			if k == "untracked" {
				c.Untracked = b
			} else {
				c.Unprotect = b
			}
		case "policy":
			// A variable is expanded by the runner (GitLab allows $VAR here).
			s, _ := scalarString(v)
			if s != ci.CachePullPush && s != ci.CachePull && s != ci.CachePush && !strings.Contains(s, "$") {
				probs.add("%s config should be one of: pull-push, push, pull", kw)
			}
			c.Policy = s
		case "when":
			s, _ := scalarString(v)
			if s != ci.WhenOnSuccess && s != ci.WhenOnFailure && s != ci.WhenAlways {
				probs.add("%s config should be one of: on_success, on_failure, always", kw)
			}
			c.When = s
		}
	}
	return c, len(probs.list) == before
}

// parseCacheKey reads key: a string, or a hash of files (up to two) and a
// prefix.
func parseCacheKey(v *node, kw string, c *ci.CacheSpec, probs *problems) {
	if v.kind == kindMap {
		if bad := unknownKeys(v, map[string]bool{"files": true, "prefix": true}); bad != "" {
			probs.add("%s config contains unknown keys: %s", kw, bad)
			return
		}
		files, ok := stringList(v.get("files"), 1)
		switch {
		case !ok || len(files) == 0:
			probs.add("%s:files config should be an array of strings", kw)
			return
		case len(files) > maxCacheKeyFiles:
			probs.add("%s:files config has too many items (maximum is %d)", kw, maxCacheKeyFiles)
			return
		}
		c.KeyFiles = files
		if pn := v.get("prefix"); pn != nil && pn.kind != kindNull {
			prefix, ok := scalarString(pn)
			if !ok {
				probs.add("%s:prefix config should be a string or symbol", kw)
				return
			}
			checkCacheKey(prefix, kw+":prefix", probs)
			c.KeyPrefix = prefix
		}
		c.Key = ""
		return
	}
	s, ok := scalarString(v)
	if !ok {
		probs.add("%s config should be a hash, a string or a symbol", kw)
		return
	}
	checkCacheKey(s, kw, probs)
	c.Key = s
}

// checkCacheKey applies GitLab's rules to a literal key: no "/" (nor
// "%2F"), not only dots.
func checkCacheKey(s, kw string, probs *problems) {
	if strings.Contains(s, "/") || strings.Contains(strings.ToLower(s), "%2f") {
		probs.add(`%s config cannot contain the "/" character`, kw)
	}
	if s != "" && strings.Trim(strings.ReplaceAll(strings.ToLower(s), "%2e", "."), ".") == "" {
		probs.add(`%s config cannot be "." or ".."`, kw)
	}
}
