package ciconfig

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// GitLab's limits for include: at most MaxIncludeFiles files in one
// pipeline's configuration, nested at most MaxIncludeDepth levels deep.
const (
	MaxIncludeDepth = 100
	MaxIncludeFiles = 150
)

// ErrProjectNotFound is what Sources.ProjectFile returns for a project that
// does not exist or that the pipeline's user may not read; the two are
// reported alike.
var ErrProjectNotFound = errors.New("project not found or no access")

// Sources reads included files from outside the pipeline's repository.
// A nil function refuses the include kinds that need it.
type Sources struct {
	// ServerFQDN is the instance's host name (CI_SERVER_FQDN), the first
	// part of every include:component address.
	ServerFQDN string
	// TemplatesProject is the full path of the project include:template
	// reads templates from; "" refuses include:template.
	TemplatesProject string
	// ProjectFile reads path (relative to the repository root) in the
	// project with full path project at ref, a branch, tag or commit ("" is
	// the default branch). It returns ErrProjectNotFound when the project
	// does not exist or the pipeline's user may not read its code, any
	// other error when the file cannot be read.
	ProjectFile func(project, ref, path string) ([]byte, error)
	// ProjectFileExists reports whether path is a file of project at ref,
	// whatever its size, for rules:exists:project paths without glob
	// characters. ErrProjectNotFound as for ProjectFile. nil: a path exists
	// when ProjectFile reads it.
	ProjectFileExists func(project, ref, path string) (bool, error)
	// ProjectTags lists a project's tag names, for component versions
	// "~latest". ErrProjectNotFound as for ProjectFile.
	ProjectTags func(project string) ([]string, error)
	// ProjectPaths lists at most max file paths of the project at ref
	// ("" the default branch), for rules:exists with project:.
	// ErrProjectNotFound as for ProjectFile.
	ProjectPaths func(project, ref string, max int) ([]string, error)
	// Remote fetches an include:remote address, enforcing the operator's
	// allow-list, a timeout and a size cap (see NewRemoteFetcher).
	Remote func(url string) ([]byte, error)
}

// Included is one file merged into the configuration, as GitLab's lint
// API lists it.
type Included struct {
	Type     string // local, file (include:project), component, template or remote
	Location string // the path, URL or component address as written
	Project  string // the project the file was read from ("" for the pipeline's own, remote)
	Ref      string // the ref it was read at ("" for the pipeline's commit or default branch)
	Raw      string // the path read inside Project, or the URL
	Parent   string // the including file's Location ("" for the main configuration)
}

// fileCtx says where a file came from, so that its include:local entries
// read from the same project at the same ref.
type fileCtx struct {
	project string // "" is the pipeline's repository
	ref     string
	name    string // the file's location, for the include chain
}

// location is one resolved include entry.
type location struct {
	kind     string // local, project, component, template, remote
	ctx      fileCtx
	path     string // path inside ctx.project, or the URL
	display  string
	inputs   *node
	readErr  func(err error) error
	notFound string
	data     []byte // the content, when resolving the entry already read it
	read     bool   // data holds it
}

type includeState struct {
	seen  map[string]bool
	files int
}

// includeAll merges the files named by include: (recursively) under root:
// included files are deep-merged in order and the including file wins.
func (p *planner) includeAll(root *node) (*node, error) {
	st := &includeState{seen: map[string]bool{}}
	merged, err := p.include(root, []fileCtx{{name: ".gitlab-ci.yml"}}, st)
	if err != nil {
		return nil, err
	}
	if merged.size > maxTotalWork {
		return nil, fmt.Errorf("configuration is too large after includes (more than %d nodes)", maxTotalWork)
	}
	return merged, nil
}

// chainText names the include chain for error messages.
func chainText(chain []fileCtx, next string) string {
	names := make([]string, 0, len(chain)+1)
	for _, c := range chain {
		names = append(names, c.name)
	}
	if next != "" {
		names = append(names, next)
	}
	return strings.Join(names, " → ")
}

func (p *planner) include(n *node, chain []fileCtx, st *includeState) (*node, error) {
	inc := n.get("include")
	if inc == nil {
		return n, nil
	}
	cur := chain[len(chain)-1]
	locs, err := p.includeLocations(inc, cur)
	if err != nil {
		return nil, fmt.Errorf("%w (include chain: %s)", err, chainText(chain, ""))
	}
	merged := newMap(n.line, nil, nil)
	for _, loc := range locs {
		key := loc.kind + "\x00" + loc.ctx.project + "\x00" + loc.ctx.ref + "\x00" + loc.path + "\x00" + nodeKey(loc.inputs)
		if st.seen[key] {
			continue // a file included twice (or a cycle) is merged once
		}
		st.seen[key] = true
		st.files++
		if st.files > MaxIncludeFiles {
			return nil, fmt.Errorf("Maximum of %d nested includes are allowed! (include chain: %s)", MaxIncludeFiles, chainText(chain, loc.display))
		}
		if len(chain) > MaxIncludeDepth {
			return nil, fmt.Errorf("Nested includes depth exceeded the maximum of %d (include chain: %s)", MaxIncludeDepth, chainText(chain, loc.display))
		}
		data, err := p.readLocation(loc)
		if err != nil {
			return nil, fmt.Errorf("%w (include chain: %s)", err, chainText(chain, loc.display))
		}
		if strings.TrimSpace(string(data)) == "" {
			return nil, fmt.Errorf("%s is empty! (include chain: %s)", loc.notFound, chainText(chain, loc.display))
		}
		child, err := p.parseConfig(loc.display, data, loc.inputs, true)
		if err != nil {
			return nil, fmt.Errorf("Included file `%s` does not have valid YAML syntax: %w (include chain: %s)", loc.display, err, chainText(chain, loc.display))
		}
		if child.kind != kindMap {
			return nil, fmt.Errorf("Included file `%s` does not have valid YAML syntax: the root must be a hash (include chain: %s)", loc.display, chainText(chain, loc.display))
		}
		parent := ""
		if len(chain) > 1 {
			parent = cur.name
		}
		p.included = append(p.included, Included{Type: includeType(loc.kind), Location: loc.display,
			Project: loc.ctx.project, Ref: loc.ctx.ref, Raw: loc.path, Parent: parent})
		next := loc.ctx
		next.name = loc.display
		if child, err = p.include(child, append(chain[:len(chain):len(chain)], next), st); err != nil {
			return nil, err
		}
		merged = deepMerge(merged, child)
		if p.work = capAdd(p.work, merged.size); p.work > maxTotalWork {
			return nil, fmt.Errorf("configuration is too large after includes (more than %d nodes)", maxTotalWork)
		}
	}
	return deepMerge(merged, without(n, "include")), nil
}

func includeType(kind string) string {
	if kind == "project" {
		return "file"
	}
	return kind
}

// readLocation reads one include's content.
func (p *planner) readLocation(loc location) ([]byte, error) {
	src := p.in.Sources
	switch {
	case loc.read:
		return loc.data, nil
	case loc.kind == "remote":
		if src.Remote == nil {
			return nil, fmt.Errorf("Remote file `%s` is not allowed: this instance allows no include:remote hosts", loc.path)
		}
		data, err := src.Remote(loc.path)
		if err != nil {
			return nil, fmt.Errorf("Remote file `%s` could not be fetched: %v", loc.path, err)
		}
		return data, nil
	case loc.ctx.project == "":
		if p.in.ReadFile == nil {
			return nil, fmt.Errorf("Local file `%s` could not be included: no repository to read it from", loc.path)
		}
		data, err := p.in.ReadFile(loc.path)
		if err != nil {
			return nil, fmt.Errorf("Local file `%s` does not exist!", loc.path)
		}
		return data, nil
	}
	if src.ProjectFile == nil {
		return nil, fmt.Errorf("%s: include:%s is not available here", loc.display, loc.kind)
	}
	data, err := src.ProjectFile(loc.ctx.project, loc.ctx.ref, loc.path)
	if err != nil {
		return nil, loc.readErr(err)
	}
	return data, nil
}

var includeHashKeys = map[string]bool{
	"local": true, "rules": true, "remote": true, "project": true, "file": true, "ref": true,
	"template": true, "component": true, "inputs": true, "integrity": true, "cache": true,
}

// includeLocations reads include: (a string, a hash or an array of both)
// of a file read in ctx, skipping entries whose rules do not match.
func (p *planner) includeLocations(inc *node, ctx fileCtx) ([]location, error) {
	items := []*node{inc}
	if inc.kind == kindSeq {
		items = inc.items
	}
	var out []location
	for _, it := range items {
		if s, ok := scalarString(it); ok {
			s = p.expandIncludeVars(s)
			if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
				out = append(out, remoteLocation(s, nil))
				continue
			}
			loc, err := localLocation(s, ctx, nil)
			if err != nil {
				return nil, err
			}
			out = append(out, loc)
			continue
		}
		if it.kind != kindMap {
			return nil, fmt.Errorf("include config should be a string, a hash or an array of strings and hashes")
		}
		if bad := unknownKeys(it, includeHashKeys); bad != "" {
			return nil, fmt.Errorf("include config contains unknown keys: %s", bad)
		}
		if rn := it.get("rules"); rn != nil {
			var probs problems
			rules := p.parseRules(rn, "include:rules", &probs, false)
			if err := probs.err(); err != nil {
				return nil, err
			}
			r, err := p.firstMatch(rules, p.env())
			if err != nil {
				return nil, err
			}
			if r == nil || r.when == "never" {
				continue
			}
		}
		inputs := it.get("inputs")
		if inputs != nil && inputs.kind != kindMap {
			return nil, fmt.Errorf("include:inputs config should be a hash")
		}
		kinds := 0
		for _, k := range []string{"local", "remote", "project", "template", "component"} {
			if it.has(k) {
				kinds++
			}
		}
		if kinds != 1 {
			return nil, fmt.Errorf("include config must have exactly one of: local, project, remote, template, component")
		}
		str := func(key string) (string, error) {
			s, ok := scalarString(it.get(key))
			if !ok || strings.TrimSpace(s) == "" {
				return "", fmt.Errorf("include:%s config should be a string", key)
			}
			return p.expandIncludeVars(s), nil
		}
		switch {
		case it.has("local"):
			s, err := str("local")
			if err != nil {
				return nil, err
			}
			loc, err := localLocation(s, ctx, inputs)
			if err != nil {
				return nil, err
			}
			out = append(out, loc)
		case it.has("remote"):
			s, err := str("remote")
			if err != nil {
				return nil, err
			}
			out = append(out, remoteLocation(s, inputs))
		case it.has("template"):
			s, err := str("template")
			if err != nil {
				return nil, err
			}
			loc, err := p.templateLocation(s, inputs)
			if err != nil {
				return nil, err
			}
			out = append(out, loc)
		case it.has("project"):
			locs, err := p.projectLocations(it, inputs)
			if err != nil {
				return nil, err
			}
			out = append(out, locs...)
		default:
			s, err := str("component")
			if err != nil {
				return nil, err
			}
			loc, err := p.componentLocation(s, inputs)
			if err != nil {
				return nil, err
			}
			out = append(out, loc)
		}
	}
	return out, nil
}

// expandIncludeVars expands $VAR and ${VAR} in an include address with the
// pipeline's variables (GitLab expands project, group, instance and
// predefined variables there).
func (p *planner) expandIncludeVars(s string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	env := p.env(p.vars)
	if p.in.Sources.ServerFQDN != "" {
		if _, ok := env["CI_SERVER_FQDN"]; !ok {
			env["CI_SERVER_FQDN"] = p.in.Sources.ServerFQDN
		}
	}
	return ci.ExpandExisting(s, env)
}

// localLocation turns an include:local value into a clean path relative to
// the root of the including file's repository.
func localLocation(s string, ctx fileCtx, inputs *node) (location, error) {
	if strings.ContainsAny(s, "*?[") {
		return location{}, fmt.Errorf("include:local `%s`: wildcard paths are not supported", s)
	}
	clean := path.Clean("/" + strings.TrimSpace(s))
	if clean == "/" {
		return location{}, fmt.Errorf("include:local `%s` is not a file", s)
	}
	file := strings.TrimPrefix(clean, "/")
	loc := location{kind: "local", ctx: fileCtx{project: ctx.project, ref: ctx.ref}, path: file, display: file, inputs: inputs,
		notFound: "Local file `" + file + "`"}
	if ctx.project != "" {
		loc.display = ctx.project + ":" + file
		loc.readErr = func(err error) error {
			if errors.Is(err, ErrProjectNotFound) {
				return fmt.Errorf("Project `%s` not found or access denied!", ctx.project)
			}
			return fmt.Errorf("Local file `%s` does not exist in project `%s`!", file, ctx.project)
		}
	}
	return loc, nil
}

func remoteLocation(url string, inputs *node) location {
	return location{kind: "remote", path: url, display: url, inputs: inputs, notFound: "Remote file `" + url + "`"}
}

// projectLocations reads include:project with file: (a string or a list)
// and an optional ref:.
func (p *planner) projectLocations(it *node, inputs *node) ([]location, error) {
	proj, ok := scalarString(it.get("project"))
	proj = strings.Trim(strings.TrimSpace(p.expandIncludeVars(proj)), "/")
	if !ok || proj == "" {
		return nil, fmt.Errorf("include:project config should be a string")
	}
	ref := ""
	if rn := it.get("ref"); rn != nil && rn.kind != kindNull {
		r, ok := scalarString(rn)
		if !ok {
			return nil, fmt.Errorf("include:ref config should be a string")
		}
		ref = p.expandIncludeVars(r)
	}
	files, ok := stringList(it.get("file"), 0)
	if !ok || len(files) == 0 {
		return nil, fmt.Errorf("include:project `%s` needs a file: (a string or an array of strings)", proj)
	}
	var out []location
	for _, f := range files {
		f = p.expandIncludeVars(f)
		if strings.ContainsAny(f, "*?[") {
			return nil, fmt.Errorf("include:project `%s` file `%s`: wildcard paths are not supported", proj, f)
		}
		clean := strings.TrimPrefix(path.Clean("/"+strings.TrimSpace(f)), "/")
		if clean == "" {
			return nil, fmt.Errorf("include:project `%s` file `%s` is not a file", proj, f)
		}
		display := proj + ":" + clean
		if ref != "" {
			display = proj + "@" + ref + ":" + clean
		}
		out = append(out, location{kind: "project", ctx: fileCtx{project: proj, ref: ref}, path: clean, display: display,
			inputs: inputs, notFound: "Project `" + proj + "` file `" + clean + "`",
			readErr: func(err error) error {
				if errors.Is(err, ErrProjectNotFound) {
					return fmt.Errorf("Project `%s` not found or access denied! Make sure any includes in the pipeline configuration are correctly defined.", proj)
				}
				if ref != "" {
					return fmt.Errorf("Project `%s` reference `%s` file `%s` does not exist!", proj, ref, clean)
				}
				return fmt.Errorf("Project `%s` file `%s` does not exist!", proj, clean)
			}})
	}
	return out, nil
}

// templateLocation reads include:template from the instance's templates
// project at its default branch.
func (p *planner) templateLocation(name string, inputs *node) (location, error) {
	tp := p.in.Sources.TemplatesProject
	if tp == "" {
		return location{}, fmt.Errorf("Template `%s`: include:template needs an instance templates project (--templates-project)", name)
	}
	clean := strings.TrimPrefix(path.Clean("/"+strings.TrimSpace(name)), "/")
	if clean == "" || strings.ContainsAny(clean, "*?[") {
		return location{}, fmt.Errorf("Template `%s` is not a valid template name", name)
	}
	return location{kind: "template", ctx: fileCtx{project: tp}, path: clean, display: name, inputs: inputs,
		notFound: "Template file `" + name + "`",
		readErr: func(error) error {
			return fmt.Errorf("Included file `%s` does not exist or the templates project cannot be read!", name)
		}}, nil
}

// componentLocation resolves $CI_SERVER_FQDN/<project path>/<name>@<version>
// to templates/<name>.yml or templates/<name>/template.yml in that project
// at the version (a tag, a commit, a branch, or ~latest: the highest
// semantic-version tag).
func (p *planner) componentLocation(addr string, inputs *node) (location, error) {
	src := p.in.Sources
	at := strings.LastIndex(addr, "@")
	if at < 0 || at == len(addr)-1 {
		return location{}, fmt.Errorf("Component `%s`: the address needs a version after @", addr)
	}
	full, version := addr[:at], addr[at+1:]
	host, rest, ok := strings.Cut(full, "/")
	// The host name alone is accepted too when the instance's FQDN has a
	// port (addresses written before CI_SERVER_FQDN carried it).
	hostOnly, _, _ := strings.Cut(src.ServerFQDN, ":")
	if !ok || src.ServerFQDN == "" || !strings.EqualFold(host, src.ServerFQDN) && !strings.EqualFold(host, hostOnly) {
		return location{}, fmt.Errorf("Component `%s`: the component path must start with this instance's host name (%s)", addr, src.ServerFQDN)
	}
	slash := strings.LastIndex(rest, "/")
	if slash <= 0 || slash == len(rest)-1 {
		return location{}, fmt.Errorf("Component `%s`: the address should be <host>/<project path>/<component name>@<version>", addr)
	}
	proj, name := rest[:slash], rest[slash+1:]
	notFound := func(err error) error {
		if errors.Is(err, ErrProjectNotFound) {
			return fmt.Errorf("Component `%s`: project `%s` not found or access denied!", addr, proj)
		}
		return fmt.Errorf("Component `%s` - content not found", addr)
	}
	if src.ProjectFile == nil {
		return location{}, fmt.Errorf("Component `%s`: include:component is not available here", addr)
	}
	if version == "~latest" {
		if src.ProjectTags == nil {
			return location{}, fmt.Errorf("Component `%s`: ~latest is not available here", addr)
		}
		tags, err := src.ProjectTags(proj)
		if err != nil {
			return location{}, notFound(err)
		}
		if version = latestSemver(tags); version == "" {
			return location{}, fmt.Errorf("Component `%s`: the project has no released (semantic version) tag for ~latest", addr)
		}
	}
	// Prefer templates/<name>.yml (kept once read), else
	// templates/<name>/template.yml.
	loc := location{kind: "component", ctx: fileCtx{project: proj, ref: version}, path: "templates/" + name + ".yml",
		display: addr, inputs: inputs, notFound: "Component `" + addr + "`", readErr: notFound}
	data, err := src.ProjectFile(proj, version, loc.path)
	switch {
	case err == nil:
		loc.data, loc.read = data, true
	case errors.Is(err, ErrProjectNotFound):
		return location{}, notFound(err)
	default:
		loc.path = "templates/" + name + "/template.yml"
	}
	return loc, nil
}

// latestSemver returns the highest tag of the form MAJOR.MINOR.PATCH (no
// pre-release), "" when there is none.
func latestSemver(tags []string) string {
	best, bestV := "", [3]int{-1, -1, -1}
	for _, t := range tags {
		parts := strings.Split(t, ".")
		if len(parts) != 3 {
			continue
		}
		var v [3]int
		ok := true
		for i, s := range parts {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || (len(s) > 1 && s[0] == '0') {
				ok = false
				break
			}
			v[i] = n
		}
		if !ok {
			continue
		}
		for i := 0; i < 3; i++ {
			if v[i] != bestV[i] {
				if v[i] > bestV[i] {
					best, bestV = t, v
				}
				break
			}
		}
	}
	return best
}

// nodeKey is a stable text of n, to tell includes with different inputs
// apart.
func nodeKey(n *node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	var walk func(*node)
	walk = func(n *node) {
		switch {
		case n == nil || n.kind == kindNull:
			b.WriteString("~")
		case n.kind == kindScalar:
			b.WriteString(strconv.Quote(n.tag + ":" + n.val))
		case n.kind == kindMap:
			b.WriteString("{")
			for i, k := range n.keys {
				b.WriteString(strconv.Quote(k) + ":")
				walk(n.vals[i])
				b.WriteString(",")
			}
			b.WriteString("}")
		default:
			b.WriteString("[")
			for _, it := range n.items {
				walk(it)
				b.WriteString(",")
			}
			b.WriteString("]")
		}
	}
	walk(n)
	return b.String()
}
