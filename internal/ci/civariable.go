package ci

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// VariableScope is where a CI/CD variable is defined: the instance, a group
// (inherited by its subgroups' projects) or a project.
type VariableScope string

// The scopes of CI/CD variables.
const (
	ScopeInstance VariableScope = "instance"
	ScopeGroup    VariableScope = "group"
	ScopeProject  VariableScope = "project"
)

// CIVariable is a CI/CD variable kept in settings (GitLab's
// Ci::Variable, Ci::GroupVariable, Ci::InstanceVariable): unlike YAML and
// pipeline variables it may be protected (only pipelines of protected refs
// get it), masked (hidden in job logs), limited to environments, and its
// value is stored encrypted.
type CIVariable struct {
	ID    int64
	Scope VariableScope
	// OwnerID is the project's id (ScopeProject), the group's
	// (ScopeGroup), 0 for the instance.
	OwnerID     int64
	Key         string
	Value       string // the plain value; the store keeps only Sealed
	File        bool   // variable_type "file"
	Protected   bool
	Masked      bool
	Raw         bool   // no $ expansion
	Environment string // environment_scope, "*" for all
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// SealedVariable is a CIVariable as the store keeps it: the value
// encrypted (Sealed), never the plain value.
type SealedVariable struct {
	CIVariable
	Sealed []byte
}

// Bounds of CI/CD variables, GitLab's.
const (
	// MaxCIVariableValueChars is GitLab's limit on a variable's value.
	MaxCIVariableValueChars = 10000
	// MaxCIVariableKeyBytes bounds a variable's key.
	MaxCIVariableKeyBytes = 255
	// MaxCIVariableFieldChars bounds environment_scope and description.
	MaxCIVariableFieldChars = 255
	// MaskedValueMinLength is the shortest value that can be masked.
	MaskedValueMinLength = 8
	// AllEnvironments is the environment_scope of variables every job gets.
	AllEnvironments = "*"
)

// maskable and maskableRaw are GitLab's masking requirements (Ci::Maskable):
// a single line without spaces of at least eight characters; unless the
// variable is raw, only characters of the Base64 alphabet (RFC 4648, both
// variants) and @ : . ~.
var (
	maskable    = regexp.MustCompile(`^[a-zA-Z0-9_+=/@:.~-]{8,}$`)
	maskableRaw = regexp.MustCompile(`^\S{8,}$`)
)

// ValidKey reports whether k is a valid variable key: 1 to 255 letters,
// digits and underscores.
func ValidKey(k string) bool {
	if k == "" || len(k) > MaxCIVariableKeyBytes {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Validate checks v as GitLab validates a CI/CD variable, and refuses
// reserved predefined names (Reserved). maxValueBytes, when positive, also
// bounds the value's bytes. Every error is KindInvalid with a 400 message
// naming the field and the rule.
func (v *CIVariable) Validate(maxValueBytes int64) error {
	if !ValidKey(v.Key) {
		return Errorf(KindInvalid, "400 Bad request - key %q is invalid: it can contain only letters, digits and '_', at most %d", v.Key, MaxCIVariableKeyBytes)
	}
	if Reserved(v.Key) {
		return Errorf(KindInvalid, "400 Bad request - variable %s is predefined and may not be set: "+
			"predefined variables that carry URLs, tokens or identity are reserved", v.Key)
	}
	if n := utf8.RuneCountInString(v.Value); n > MaxCIVariableValueChars {
		return Errorf(KindInvalid, "400 Bad request - value is too long (%d characters, the maximum is %d)", n, MaxCIVariableValueChars)
	}
	if maxValueBytes > 0 && int64(len(v.Value)) > maxValueBytes {
		return Errorf(KindInvalid, "400 Bad request - value is too long (%d bytes, the maximum is %d: --max-variable-bytes)", len(v.Value), maxValueBytes)
	}
	if !utf8.ValidString(v.Value) {
		return Errorf(KindInvalid, "400 Bad request - value is not valid UTF-8")
	}
	if v.Masked {
		if err := Maskable(v.Value, v.Raw); err != nil {
			return err
		}
	}
	if v.Environment == "" {
		v.Environment = AllEnvironments
	}
	if utf8.RuneCountInString(v.Environment) > MaxCIVariableFieldChars || strings.ContainsAny(v.Environment, "\n\r") {
		return Errorf(KindInvalid, "400 Bad request - environment_scope is invalid: a single line of at most %d characters", MaxCIVariableFieldChars)
	}
	if utf8.RuneCountInString(v.Description) > MaxCIVariableFieldChars {
		return Errorf(KindInvalid, "400 Bad request - description is too long (the maximum is %d characters)", MaxCIVariableFieldChars)
	}
	return nil
}

// Maskable answers nil if value can be masked in job logs (raw: the
// variable is not expanded, which GitLab lets use any non-space
// character), else KindInvalid saying why.
func Maskable(value string, raw bool) error {
	if maskable.MatchString(value) || raw && maskableRaw.MatchString(value) {
		return nil
	}
	why := "it must be a single line without spaces of at least 8 characters, using only letters, digits and + / = _ - @ : . ~"
	if raw {
		why = "it must be a single line without spaces of at least 8 characters"
	}
	return Errorf(KindInvalid, "400 Bad request - value cannot be masked: %s", why)
}

// MatchesEnvironment reports whether environment scope scope applies to a
// job deploying to env ("" for a job without environment), as GitLab
// matches them: "*" matches every job, a scope without wildcards one
// environment exactly, and each "*" in a scope any run of characters.
func MatchesEnvironment(scope, env string) bool {
	if scope == "" || scope == AllEnvironments {
		return true
	}
	if env == "" {
		return false
	}
	return MatchWildcard(scope, env)
}

// MatchWildcard matches name against pattern whose "*" match any run of
// characters (slashes included) and every other character itself: GitLab's
// wildcards of protected refs, environment scopes and webhook branch
// filters.
func MatchWildcard(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(name, p)
		if i < 0 {
			return false
		}
		name = name[i+len(p):]
	}
	return strings.HasSuffix(name, last)
}

// VariableLayers are a job's variables by origin; JobVariables orders them.
type VariableLayers struct {
	Predefined []Variable
	// Deployment variables (none yet in Baton).
	Deployment []Variable
	YAMLGlobal []Variable // the file's (and workflow rule's) variables the job inherits
	YAMLJob    []Variable // the job's own variables:
	Dotenv     []Variable // dotenv reports of the job's dependencies
	Instance   []Variable
	// Groups are the group variables, the project's farthest ancestor
	// group first, its own group last.
	Groups   [][]Variable
	Project  []Variable
	Pipeline []Variable // given when the pipeline was created (API, trigger, manual)
}

// JobVariables orders a job's variables by GitLab's precedence, lowest
// first, as runners read them (a later entry of the same key wins):
// predefined, deployment, YAML global, YAML job, dotenv reports, instance,
// groups (the closest group last), project, pipeline variables. No entry
// but a predefined one may carry a reserved name (Reserved): those are
// dropped, so the predefined value always stands.
func JobVariables(l VariableLayers) []Variable {
	n := len(l.Predefined) + len(l.Deployment) + len(l.YAMLGlobal) + len(l.YAMLJob) + len(l.Dotenv) +
		len(l.Instance) + len(l.Project) + len(l.Pipeline)
	for _, g := range l.Groups {
		n += len(g)
	}
	out := make([]Variable, 0, n)
	out = append(out, l.Predefined...)
	add := func(vs []Variable) {
		for _, v := range vs {
			if !Reserved(v.Key) {
				out = append(out, v)
			}
		}
	}
	add(l.Deployment)
	add(l.YAMLGlobal)
	add(l.YAMLJob)
	add(l.Dotenv)
	add(l.Instance)
	for _, g := range l.Groups {
		add(g)
	}
	add(l.Project)
	add(l.Pipeline)
	return out
}

// Lookup returns the value of the last variable named key in vs (the one
// that wins).
func Lookup(vs []Variable, key string) (string, bool) {
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].Key == key {
			return vs[i].Value, true
		}
	}
	return "", false
}

// ScopedVariables are the CI/CD variables a pipeline of a project may get,
// by scope; each has already been decrypted. Groups are farthest first.
type ScopedVariables struct {
	Instance []CIVariable
	Groups   [][]CIVariable
	Project  []CIVariable
}

// ForJob filters s to what a job of a pipeline gets: protected variables
// only when the pipeline's ref is protected, and only variables whose
// environment scope matches env. Where several environment scopes of one
// key match, the most specific (longest) scope wins, as GitLab's
// "environment-specific beats *". The result's layers feed JobVariables.
func (s ScopedVariables) ForJob(protected bool, env string) (instance []Variable, groups [][]Variable, project []Variable) {
	instance = pick(s.Instance, protected, env)
	for _, g := range s.Groups {
		groups = append(groups, pick(g, protected, env))
	}
	return instance, groups, pick(s.Project, protected, env)
}

func pick(vs []CIVariable, protected bool, env string) []Variable {
	type chosen struct {
		v     CIVariable
		order int
	}
	best := map[string]chosen{}
	for i, v := range vs {
		if v.Protected && !protected || !MatchesEnvironment(v.Environment, env) {
			continue
		}
		if c, ok := best[v.Key]; ok && specificity(c.v.Environment) >= specificity(v.Environment) {
			continue
		}
		best[v.Key] = chosen{v, i}
	}
	out := make([]Variable, 0, len(best))
	for i, v := range vs {
		if c, ok := best[v.Key]; ok && c.order == i {
			out = append(out, Variable{Key: v.Key, Value: v.Value, File: v.File, Masked: v.Masked, Raw: v.Raw})
		}
	}
	return out
}

// specificity ranks environment scopes: an exact name over wildcards,
// longer patterns over shorter ones, "*" last.
func specificity(scope string) int {
	if scope == "" || scope == AllEnvironments {
		return 0
	}
	n := len(scope) * 2
	if !strings.Contains(scope, "*") {
		n++
	}
	return n
}

// VariableStore keeps CI/CD variables of the instance, groups and
// projects, with their values sealed (encrypted by the caller).
type VariableStore interface {
	// ListVariables lists the variables of one scope and owner by key,
	// then environment scope.
	ListVariables(ctx context.Context, scope VariableScope, ownerID int64) ([]*SealedVariable, error)
	// CountVariables counts the variables of one scope and owner.
	CountVariables(ctx context.Context, scope VariableScope, ownerID int64) (int, error)
	// CreateVariable inserts v, setting ID, CreatedAt and UpdatedAt. The
	// same key and environment scope in the same place is KindConflict.
	CreateVariable(ctx context.Context, v *SealedVariable) error
	// UpdateVariable saves every field of v (by ID); KindConflict as
	// CreateVariable, KindNotFound if it is gone.
	UpdateVariable(ctx context.Context, v *SealedVariable) error
	// DeleteVariable removes a variable by ID; KindNotFound if it is gone.
	DeleteVariable(ctx context.Context, id int64) error
	// VariablesFor reads, in one query, the variables of the instance,
	// of each group in groupIDs and of the project.
	VariablesFor(ctx context.Context, projectID int64, groupIDs []int64) ([]*SealedVariable, error)
	// AnyVariable returns one stored variable, KindNotFound if there is
	// none (the startup check of the secrets key).
	AnyVariable(ctx context.Context) (*SealedVariable, error)
}
