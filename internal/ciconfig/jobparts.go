package ciconfig

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

var imageKeys = map[string]bool{"name": true, "entrypoint": true, "pull_policy": true, "docker": true, "kubernetes": true}
var serviceKeys = map[string]bool{"name": true, "entrypoint": true, "pull_policy": true, "docker": true,
	"kubernetes": true, "alias": true, "command": true, "variables": true}

// parseImage reads an image or service: a name string or a hash.
func parseImage(n *node, where string, service bool, probs *problems) *ci.ImageSpec {
	if s, ok := scalarString(n); ok {
		return &ci.ImageSpec{Name: s}
	}
	if n.kind != kindMap {
		probs.add("%s config should be a hash or a string", where)
		return nil
	}
	allowed := imageKeys
	if service {
		allowed = serviceKeys
	}
	if bad := unknownKeys(n, allowed); bad != "" {
		probs.add("%s config contains unknown keys: %s", where, bad)
		return nil
	}
	img := &ci.ImageSpec{}
	name, ok := scalarString(n.get("name"))
	if !ok || name == "" {
		probs.add("%s:name config should be a string", where)
	}
	img.Name = name
	if a := n.get("alias"); a != nil {
		if img.Alias, ok = scalarString(a); !ok {
			probs.add("%s:alias config should be a string", where)
		}
	}
	for _, f := range []struct {
		key string
		dst *[]string
	}{{"entrypoint", &img.Entrypoint}, {"command", &img.Command}, {"pull_policy", &img.PullPolicy}} {
		key, dst := f.key, f.dst
		v := n.get(key)
		if v == nil {
			continue
		}
		list, ok := stringList(v, 0)
		if !ok {
			probs.add("%s:%s config should be an array of strings", where, key)
			continue
		}
		*dst = list
	}
	for _, pp := range img.PullPolicy {
		if pp != "always" && pp != "if-not-present" && pp != "never" {
			probs.add("%s:pull_policy config contains an invalid value: %s", where, pp)
		}
	}
	return img
}

func parseServices(n *node, where string, probs *problems) []ci.ImageSpec {
	if n.kind != kindSeq {
		probs.add("%s config should be an array of strings or hashes", where)
		return nil
	}
	out := make([]ci.ImageSpec, 0, len(n.items))
	for i, it := range n.items {
		if img := parseImage(it, where+":"+strconv.Itoa(i), true, probs); img != nil {
			out = append(out, *img)
		}
	}
	return out
}

// parseAllowFailure reads a boolean or {exit_codes: int or [ints]}.
func parseAllowFailure(n *node, where string, probs *problems) (bool, []int) {
	if b, ok := boolValueOf(n); ok {
		return b, nil
	}
	if n.kind == kindMap {
		if bad := unknownKeys(n, map[string]bool{"exit_codes": true}); bad != "" {
			probs.add("%s config contains unknown keys: %s", where, bad)
			return false, nil
		}
		codes, ok := intList(n.get("exit_codes"))
		if !ok {
			probs.add("%s:exit_codes config should be an integer or an array of integers", where)
		}
		return false, codes
	}
	probs.add("%s config should be a boolean value or a hash with exit_codes", where)
	return false, nil
}

var needKeys = map[string]bool{"job": true, "artifacts": true, "optional": true, "project": true,
	"ref": true, "pipeline": true, "parallel": true}

// parseNeeds reads needs: names or {job:, artifacts:, optional:} hashes.
func parseNeeds(n *node, where string, probs *problems) []ci.Need {
	if s, ok := scalarString(n); ok {
		return []ci.Need{{Job: s, Artifacts: true}}
	}
	if n.kind != kindSeq {
		probs.add("%s config should be an array of strings or hashes", where)
		return nil
	}
	out := make([]ci.Need, 0, len(n.items))
	for _, it := range flattenSeq(n.items, maxDepth) {
		if s, ok := scalarString(it); ok {
			out = append(out, ci.Need{Job: s, Artifacts: true})
			continue
		}
		if it.kind != kindMap {
			probs.add("%s config should be an array of strings or hashes", where)
			continue
		}
		if bad := unknownKeys(it, needKeys); bad != "" {
			probs.add("%s config contains unknown keys: %s", where, bad)
			continue
		}
		need := ci.Need{Artifacts: true}
		var ok bool
		if need.Job, ok = scalarString(it.get("job")); !ok || need.Job == "" {
			probs.add("%s:job config should be a string", where)
			continue
		}
		if it.has("project") {
			str := func(key string) string {
				v, ok := scalarString(it.get(key))
				if !ok || v == "" {
					probs.add("%s:%s config should be a string", where, key)
				}
				return v
			}
			need.Project, need.Ref = str("project"), str("ref")
			if it.has("pipeline") || it.has("parallel") || it.has("optional") {
				probs.add("%s config: a needs:project entry takes only project, job, ref and artifacts", where)
				continue
			}
		}
		if pn := it.get("pipeline"); pn != nil {
			if need.Pipeline, ok = scalarString(pn); !ok || need.Pipeline == "" {
				probs.add("%s:pipeline config should be a string", where)
				continue
			}
			if it.has("parallel") || it.has("optional") {
				probs.add("%s config: a needs:pipeline entry takes only job, pipeline and artifacts", where)
				continue
			}
		}
		var names []string
		if pn := it.get("parallel"); pn != nil {
			names = needMatrixNames(need.Job, pn, where+":parallel", probs)
			if names == nil {
				continue
			}
		}
		if a := it.get("artifacts"); a != nil {
			if need.Artifacts, ok = boolValueOf(a); !ok {
				probs.add("%s:artifacts config should be a boolean value", where)
			}
		}
		if o := it.get("optional"); o != nil {
			if need.Optional, ok = boolValueOf(o); !ok {
				probs.add("%s:optional config should be a boolean value", where)
			}
		}
		if names != nil {
			for _, name := range names {
				nd := need
				nd.Job = name
				out = append(out, nd)
			}
			continue
		}
		out = append(out, need)
	}
	return out
}

// parseTimeout reads a GitLab duration into seconds.
func parseTimeout(n *node, where string, probs *problems) int {
	s, ok := scalarString(n)
	if !ok {
		probs.add("%s config should be a duration", where)
		return 0
	}
	secs, err := parseDuration(s)
	switch {
	case err != nil:
		probs.add("%s config should be a duration", where)
	case secs <= 0:
		probs.add("%s config should be a positive duration", where)
	case secs > 30*24*3600:
		probs.add("%s config should not exceed the limit of 1 month", where)
	}
	return secs
}

var retryReasons = map[string]bool{
	"always": true, "unknown_failure": true, "script_failure": true, "api_failure": true,
	"stuck_or_timeout_failure": true, "runner_system_failure": true, "runner_unsupported": true,
	"stale_schedule": true, "job_execution_timeout": true, "archived_failure": true,
	"unmet_prerequisites": true, "scheduler_failure": true, "data_integrity_failure": true,
	"missing_dependency_failure": true,
	// Reasons GitLab Runner 17+ reports on its own (Baton accepts them).
	"runner_interrupted": true, "runner_external_dependency_failure": true,
	// GitLab 19.0 splits stuck_or_timeout_failure into these.
	"stuck_pending_with_matching_runners": true, "stuck_pending_no_matching_runners": true,
	"no_updates_running": true, "no_updates_canceling": true, "server_timeout_running": true,
	"server_timeout_canceling": true,
}

// parseRetry reads an integer 0..2 or {max:, when:, exit_codes:}.
func parseRetry(n *node, where string, probs *problems) ci.RetrySpec {
	checkMax := func(v int) int {
		if v < 0 || v > 2 {
			probs.add("%s config should be an integer between 0 and 2", where)
			return 0
		}
		return v
	}
	if v, ok := intValueOf(n); ok {
		return ci.RetrySpec{Max: checkMax(v)}
	}
	if n.kind != kindMap {
		probs.add("%s config should be an integer or a hash", where)
		return ci.RetrySpec{}
	}
	if bad := unknownKeys(n, map[string]bool{"max": true, "when": true, "exit_codes": true}); bad != "" {
		probs.add("%s config contains unknown keys: %s", where, bad)
		return ci.RetrySpec{}
	}
	var r ci.RetrySpec
	if m := n.get("max"); m != nil {
		v, ok := intValueOf(m)
		if !ok {
			probs.add("%s:max config should be an integer", where)
		}
		r.Max = checkMax(v)
	}
	if w := n.get("when"); w != nil {
		reasons, ok := stringList(w, 0)
		if !ok {
			probs.add("%s:when config should be a string or an array of strings", where)
		}
		for _, reason := range reasons {
			if !retryReasons[reason] {
				probs.add("%s:when contains unknown values: %s", where, reason)
			}
			if reason == "always" {
				reasons = nil // empty means every failure
				break
			}
		}
		r.When = reasons
	}
	if e := n.get("exit_codes"); e != nil {
		codes, ok := intList(e)
		if !ok {
			probs.add("%s:exit_codes config should be an integer or an array of integers", where)
		}
		r.ExitCodes = codes
	}
	return r
}

// flattenSeq flattens arrays nested in items (from !reference or anchors)
// up to depth levels.
func flattenSeq(items []*node, depth int) []*node {
	nested := false
	for _, it := range items {
		if it != nil && it.kind == kindSeq {
			nested = true
			break
		}
	}
	if !nested || depth <= 0 {
		return items
	}
	out := make([]*node, 0, len(items))
	for _, it := range items {
		if it != nil && it.kind == kindSeq {
			out = append(out, flattenSeq(it.items, depth-1)...)
			continue
		}
		out = append(out, it)
	}
	return out
}

// needMatrixNames reads needs:parallel:matrix into the names of the
// instances of job it selects ("job: [v1, v2]", values in the order the
// need lists its variables, as GitLab names them).
func needMatrixNames(job string, n *node, where string, probs *problems) []string {
	if n.kind != kindMap || !n.has("matrix") {
		probs.add("%s config should be a hash with matrix:", where)
		return nil
	}
	count, cells := parseParallel(n, where, probs)
	if count == 0 {
		return nil
	}
	names := make([]string, len(cells))
	for i, cell := range cells {
		vals := make([]string, len(cell))
		for k, v := range cell {
			vals[k] = v.Value
		}
		names[i] = fmt.Sprintf("%s: [%s]", job, strings.Join(vals, ", "))
	}
	return names
}
