package policy

// Route markers are what a route table names for a route that needs no
// ability of the policy's: they say why, so that a route table has no line
// without an answer to "who may call this". The policy decides none of
// them (Project, Namespace, Instance and Runner refuse them).
const (
	// Public routes serve anyone: static files, the sign-in page, the
	// API's 404 fallback.
	Public Ability = iota + 200
	// SignedIn routes serve any caller with valid credentials (a personal,
	// job or session token) and name nothing they protect: GET /version,
	// GET /users?username=, the sign-out form, one's own sessions.
	SignedIn
	// RunnerToken routes authenticate a runner by its authentication token
	// (or register one with a registration token): the runner protocol.
	RunnerToken
	// JobToken routes authenticate a running job by its job token: the
	// runner protocol's job routes and GET /job.
	JobToken
	// TriggerToken routes authenticate a pipeline trigger token (or a job
	// token) given as a parameter; the token's owner needs CreatePipeline.
	TriggerToken
	// OwnJobToken routes write into a running job with that job's own
	// token, and nobody else's: publishing a named artifact mid-job. No
	// user, no other job of the same project, and no token of a finished
	// job may call them.
	OwnJobToken
)

func init() {
	abilityNames[Public], abilityNames[SignedIn], abilityNames[RunnerToken] = "public", "signed_in", "runner_token"
	abilityNames[JobToken], abilityNames[TriggerToken] = "job_token", "trigger_token"
	abilityNames[OwnJobToken] = "own_job_token"
}

// Resource is what an ability is decided on.
type Resource int

// Resources of abilities.
const (
	ResourceUnknown  Resource = iota // not an ability: a route naming it has none
	ResourceMarker                   // a route marker (Public, SignedIn, RunnerToken, JobToken, TriggerToken, OwnJobToken)
	ResourceProject                  // Policy.Project
	ResourceGroup                    // Policy.Namespace
	ResourceInstance                 // Policy.Instance
	ResourceRunner                   // Policy.Runner
)

// Resource reports which of the policy's functions decides a, or that a is
// a route marker; ResourceUnknown for anything else (the zero Ability).
func (a Ability) Resource() Resource {
	if _, ok := projectRules[a]; ok {
		return ResourceProject
	}
	if _, ok := namespaceRules[a]; ok {
		return ResourceGroup
	}
	if _, ok := instanceRules[a]; ok {
		return ResourceInstance
	}
	if _, ok := runnerScopes[a]; ok {
		return ResourceRunner
	}
	switch a {
	case Public, SignedIn, RunnerToken, JobToken, TriggerToken, OwnJobToken:
		return ResourceMarker
	}
	return ResourceUnknown
}

// Route is one line of a surface's route table, as the checks that walk
// every surface see it: the method and path, the ability the route's
// handler is authorized by (or a marker), and the most body bytes it reads
// (negative: unbounded, 0: none declared).
type Route struct {
	Pattern string
	Ability Ability
	Body    int64
}
