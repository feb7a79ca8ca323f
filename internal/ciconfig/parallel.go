package ciconfig

import (
	"fmt"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

const maxParallel = 200

// parseParallel reads parallel: N (1..200) or parallel: {matrix: [...]}.
// For a matrix it returns one variable set per instance.
func parseParallel(n *node, where string, probs *problems) (int, [][]ci.Variable) {
	if v, ok := intValueOf(n); ok {
		if v < 1 || v > maxParallel {
			probs.add("%s config must be greater than or equal to 1 and less than or equal to %d", where, maxParallel)
			return 0, nil
		}
		return v, nil
	}
	if n.kind != kindMap {
		probs.add("%s config should be an integer or a hash", where)
		return 0, nil
	}
	if bad := unknownKeys(n, map[string]bool{"matrix": true}); bad != "" {
		probs.add("%s config contains unknown keys: %s", where, bad)
		return 0, nil
	}
	m := n.get("matrix")
	if m == nil || m.kind != kindSeq || len(m.items) == 0 {
		probs.add("%s:matrix config should be an array of hashes", where)
		return 0, nil
	}
	var cells [][]ci.Variable
	for _, entry := range m.items {
		if entry.kind != kindMap || len(entry.keys) == 0 {
			probs.add("%s:matrix config should be an array of hashes", where)
			return 0, nil
		}
		// Count first: a product of long lists must not be built to be rejected.
		count := 1
		values := make([][]string, len(entry.keys))
		for i, k := range entry.keys {
			list, ok := stringList(entry.vals[i], 0)
			if !ok || len(list) == 0 {
				probs.add("%s:matrix:%s config should be a string or an array of strings", where, k)
				return 0, nil
			}
			values[i] = list
			if count *= len(list); count+len(cells) > maxParallel {
				probs.add("%s:matrix config generates too many jobs (maximum is %d)", where, maxParallel)
				return 0, nil
			}
		}
		cells = append(cells, product(entry.keys, values)...)
	}
	return len(cells), cells
}

func product(keys []string, values [][]string) [][]ci.Variable {
	out := [][]ci.Variable{nil}
	for i, k := range keys {
		var next [][]ci.Variable
		for _, prefix := range out {
			for _, v := range values[i] {
				cell := append(append([]ci.Variable(nil), prefix...), ci.Variable{Key: k, Value: v})
				next = append(next, cell)
			}
		}
		out = next
	}
	return out
}

// expand turns the selected jobs into specs: parallel jobs become one spec
// per instance, and needs and dependencies are checked and expanded to the
// instances of parallel jobs.
func (p *planner) expand(jobs []*jobDef) []ci.JobSpec {
	instances := map[string][]string{} // job name -> instance names
	stageOf := map[string]int{}        // instance name -> stage index
	var specs []ci.JobSpec
	var bases []string // the job each spec was expanded from
	for _, j := range jobs {
		n := j.parallel
		if n == 0 {
			n = 1
		}
		if len(specs)+n > maxPlannedJobs {
			p.probs.add("the pipeline would have more than %d jobs", maxPlannedJobs)
			return nil
		}
		for i := 1; i <= n; i++ {
			s := j.spec
			switch {
			case j.matrix != nil:
				vals := make([]string, len(j.matrix[i-1]))
				for k, v := range j.matrix[i-1] {
					vals[k] = v.Value
				}
				s.Name = fmt.Sprintf("%s: [%s]", j.name, strings.Join(vals, ", "))
				s.Variables = mergeVariables(s.Variables, j.matrix[i-1])
				p.work = capAdd(p.work, len(s.Variables))
				s.NodeIndex, s.NodeTotal = i, n
			case j.parallel > 0:
				s.Name = fmt.Sprintf("%s %d/%d", j.name, i, n)
				s.NodeIndex, s.NodeTotal = i, n
			}
			instances[j.name] = append(instances[j.name], s.Name)
			stageOf[s.Name] = p.stageIndex(s.Stage)
			specs = append(specs, s)
			bases = append(bases, j.name)
		}
	}
	resolve := func(name string) []string {
		if in, ok := instances[name]; ok {
			return in
		}
		if _, ok := stageOf[name]; ok {
			return []string{name} // one instance named explicitly, e.g. "test 2/3"
		}
		return nil
	}
	for i := range specs {
		s := &specs[i]
		base := bases[i]
		where := "jobs:" + base
		needed := map[string]bool{}
		var needs []ci.Need
		for _, nd := range s.Needs {
			if nd.CrossPipeline() {
				needs = append(needs, nd) // another pipeline's job: resolved when the job runs
				continue
			}
			targets := resolve(nd.Job)
			if p.work = capAdd(p.work, len(targets)); p.work > maxTotalWork {
				p.probs.add("the pipeline is too large: too many needs")
				return nil
			}
			if targets == nil {
				switch {
				case nd.Optional:
				case p.byName[nd.Job] != nil:
					p.probs.add("%s:needs: '%s' job needs '%s' job, but '%s' is not in any previous stage", where, base, nd.Job, nd.Job)
				default:
					p.probs.add("%s:needs: undefined need: %s", where, nd.Job)
				}
				continue
			}
			for _, t := range targets {
				if t == s.Name || nd.Job == base {
					p.probs.add("%s:needs: a job cannot need itself", where)
					break
				}
				if stageOf[t] > stageOf[s.Name] {
					p.probs.add("%s:needs: '%s' job needs '%s' job, but '%s' is not in any previous stage", where, base, nd.Job, nd.Job)
					break
				}
				needed[t] = true
				needs = append(needs, ci.Need{Job: t, Artifacts: nd.Artifacts, Optional: nd.Optional})
			}
		}
		if s.HasNeeds {
			s.Needs = needs
			if s.Needs == nil {
				s.Needs = []ci.Need{}
			}
		}
		if s.Trigger != nil {
			for _, inc := range s.Trigger.Include {
				if inc.Job == "" {
					continue
				}
				targets := resolve(inc.Job)
				if len(targets) != 1 || stageOf[targets[0]] > stageOf[s.Name] || (stageOf[targets[0]] == stageOf[s.Name] && !needed[targets[0]]) {
					p.probs.add("%s:trigger:include: job '%s' must be one job of a previous stage or in needs", where, inc.Job)
				}
			}
		}
		if s.HasDependencies {
			var deps []string
			for _, d := range s.Dependencies {
				targets := resolve(d)
				if targets == nil {
					p.probs.add("%s:dependencies: undefined dependency: %s", where, d)
					continue
				}
				for _, t := range targets {
					switch {
					case s.HasNeeds && !needed[t]:
						p.probs.add("%s:dependencies: the %s should be part of needs", where, d)
					case !s.HasNeeds && stageOf[t] > stageOf[s.Name]:
						// GitLab accepts a job of the same stage (its
						// yaml_processor compares the stage indexes with <=).
						p.probs.add("%s:dependencies: %s is not defined in current or prior stages", where, d)
					default:
						deps = append(deps, t)
						continue
					}
					break
				}
			}
			s.Dependencies = deps
			if s.Dependencies == nil {
				s.Dependencies = []string{}
			}
		}
	}
	p.checkNeedsCycles(specs)
	return specs
}

// checkNeedsCycles reports needs that form a cycle (possible within a stage).
func (p *planner) checkNeedsCycles(specs []ci.JobSpec) {
	index := make(map[string]int, len(specs))
	for i, s := range specs {
		index[s.Name] = i
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := make([]int, len(specs))
	var visit func(i int) bool
	visit = func(i int) bool {
		state[i] = visiting
		for _, nd := range specs[i].Needs {
			j, ok := index[nd.Job]
			if !ok || nd.CrossPipeline() {
				continue
			}
			if state[j] == visiting {
				p.probs.add("jobs:%s:needs: circular dependency detected in `needs` (%s)", specs[i].Name, nd.Job)
				return false
			}
			if state[j] == unvisited && !visit(j) {
				return false
			}
		}
		state[i] = done
		return true
	}
	for i := range specs {
		if state[i] == unvisited && !visit(i) {
			return
		}
	}
}
