package policy

import (
	"strings"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
)

// Ability names one action a caller may be allowed. Route tables name the
// ability each route needs.
type Ability int

// Project abilities.
const (
	ReadProject            Ability = iota + 1 // the project itself, its members
	ReadPipeline                              // pipelines and their lists
	ReadJob                                   // jobs and their lists
	ReadLog                                   // job logs
	ReadArtifact                              // artifact archives, files and listings
	ReadPipelineVariables                     // variables a pipeline was created with
	CreatePipeline                            // run a pipeline (API, web, trigger by job token)
	UpdatePipeline                            // cancel or retry a pipeline
	DeletePipeline                            // delete a pipeline with its jobs and artifacts
	UpdateJob                                 // cancel, retry or play a job
	KeepArtifacts                             // keep a job's artifacts from expiring
	DeleteArtifacts                           // delete artifacts, erase a job
	ReadTriggers                              // list trigger tokens
	AdminTriggers                             // create and delete trigger tokens
	ReadAllowlist                             // the job-token allow-list
	AdminAllowlist                            // change the job-token allow-list
	AdminMembers                              // add, change, remove members (see Grant, Revoke)
	AdminProjectRunners                       // create and manage the project's runners
	DeleteProject                             // delete the project
	ReadCode                                  // clone and fetch over git
	PushCode                                  // push over git
	AdminProject                              // change the project's settings (PUT /projects/:id, the settings page), rename it
	ChangeVisibility                          // change the project's visibility
	ReadCommitStatus                          // commit statuses reported by outside systems
	CreateCommitStatus                        // report a commit status (POST /statuses/:sha)
	ReadPipelineSchedules                     // pipeline schedules and their variables
	CreatePipelineSchedule                    // create a pipeline schedule (owned by its creator)
	UpdatePipelineSchedule                    // edit or delete a schedule: its owner, or who may AdminPipelineSchedules (see PipelineSchedule)
	AdminPipelineSchedules                    // edit or delete anyone's schedule, take ownership
	PlayPipelineSchedule                      // run a schedule now
	ReadHooks                                 // webhooks and their recent deliveries
	AdminHooks                                // create, change, delete and test webhooks
	ReadEnvironment                           // environments and deployments
	CreateEnvironment                         // create an environment through the API
	StopEnvironment                           // stop an environment (plays its on_stop job)
	DeleteEnvironment                         // delete a stopped environment
	ReadResourceGroup                         // resource groups and their upcoming jobs
	UpdateResourceGroup                       // change a resource group's process mode
	ReadRelease                               // releases and their asset links
	CreateRelease                             // create a release through the API
	UpdateRelease                             // edit a release, add, change or remove its links
	DeleteRelease                             // delete a release
	ReadArtifactTokens                        // the artifact tokens jobs handed out, and their uses
	AdminArtifactTokens                       // revoke an artifact token

	// Project abilities of CI/CD settings.
	ReadVariables      // the project's CI/CD variables, values included
	AdminVariables     // create, change, delete the project's CI/CD variables
	ReadProtectedRefs  // the project's protected branches and tags
	AdminProtectedRefs // protect and unprotect branches and tags

	// Group abilities.
	ReadGroup         // the group itself, its members
	CreateProjectIn   // create projects in the group (or personal namespace)
	CreateSubgroup    // create groups under it
	AdminGroupMembers // add, change, remove group members
	AdminGroupRunners // create and manage the group's runners

	// Group abilities of CI/CD settings.
	ReadGroupVariables  // the group's CI/CD variables, values included
	AdminGroupVariables // create, change, delete the group's CI/CD variables

	// Instance abilities.
	ReadOwnUser        // GET /user
	CreateProject      // create a project or group anywhere one may
	ReadAdmin          // admin pages and lists (runners, users)
	AdminInstance      // create users and their tokens, instance runners, the registration token
	ListGroups         // GET /groups
	ListInstanceRunner // GET /runners/all and runner details
	ListProjects       // GET /projects (job tokens see only their own)

	// Instance abilities of CI/CD settings.
	ReadInstanceVariables  // the instance's CI/CD variables, values included
	AdminInstanceVariables // create, change, delete the instance's CI/CD variables
)

var abilityNames = map[Ability]string{
	ReadProject: "read_project", ReadPipeline: "read_pipeline", ReadJob: "read_build", ReadLog: "read_build_trace",
	ReadArtifact: "read_job_artifacts", ReadPipelineVariables: "read_pipeline_variable", CreatePipeline: "create_pipeline",
	UpdatePipeline: "update_pipeline", DeletePipeline: "destroy_pipeline", UpdateJob: "update_build",
	KeepArtifacts: "keep_job_artifacts", DeleteArtifacts: "destroy_artifacts", ReadTriggers: "read_trigger",
	AdminTriggers: "admin_trigger", ReadAllowlist: "read_job_token_scope", AdminAllowlist: "admin_job_token_scope",
	AdminMembers: "admin_project_member", AdminProjectRunners: "admin_runner", DeleteProject: "remove_project",
	ReadCode: "download_code", PushCode: "push_code", AdminProject: "admin_project", ChangeVisibility: "change_visibility_level",
	ReadCommitStatus: "read_commit_status", CreateCommitStatus: "create_commit_status",
	ReadPipelineSchedules: "read_pipeline_schedule", CreatePipelineSchedule: "create_pipeline_schedule",
	UpdatePipelineSchedule: "update_pipeline_schedule", AdminPipelineSchedules: "admin_pipeline_schedule",
	PlayPipelineSchedule: "play_pipeline_schedule", ReadHooks: "read_web_hook", AdminHooks: "admin_web_hook",
	ReadGroup: "read_group", CreateProjectIn: "create_projects", CreateSubgroup: "create_subgroup",
	AdminGroupMembers: "admin_group_member", AdminGroupRunners: "admin_group_runner",
	ReadOwnUser: "read_user", CreateProject: "create_project", ReadAdmin: "read_admin", AdminInstance: "admin_all_resources",
	ListGroups: "list_groups", ListInstanceRunner: "read_runners", ListProjects: "list_projects",
	ReadVariables: "read_cicd_variables", AdminVariables: "admin_cicd_variables", ReadProtectedRefs: "read_protected_branch",
	AdminProtectedRefs: "admin_protected_branch", ReadGroupVariables: "read_group_cicd_variables",
	AdminGroupVariables: "admin_group_cicd_variables", ReadInstanceVariables: "read_instance_cicd_variables",
	AdminInstanceVariables: "admin_instance_cicd_variables", ReadEnvironment: "read_environment",
	CreateEnvironment: "create_environment", StopEnvironment: "stop_environment", DeleteEnvironment: "destroy_environment",
	ReadResourceGroup: "read_resource_group", UpdateResourceGroup: "update_resource_group",
	ReadRelease: "read_release", CreateRelease: "create_release", UpdateRelease: "update_release", DeleteRelease: "destroy_release",
	ReadArtifactTokens: "read_artifact_tokens", AdminArtifactTokens: "admin_artifact_tokens",
}

// String is GitLab's name of the ability where it has one.
func (a Ability) String() string {
	if n, ok := abilityNames[a]; ok {
		return n
	}
	return "unknown ability"
}

// Writes reports whether the ability changes something (never for job
// tokens or anonymous callers).
func (a Ability) Writes() bool {
	if r, ok := projectRules[a]; ok {
		return r.write
	}
	if r, ok := namespaceRules[a]; ok {
		return r.write
	}
	return instanceRules[a].scope == scopeWrite
}

// scope is what a personal token must carry for an ability.
type scope int

const (
	scopeRead         scope = iota // read_api or api
	scopeWrite                     // api
	scopeGitRead                   // read_repository, write_repository, read_api or api
	scopeGitWrite                  // write_repository or api
	scopeCreateRunner              // create_runner or api
)

var scopeNeeds = map[scope][]string{
	scopeRead:         {ci.ScopeReadAPI, ci.ScopeAPI},
	scopeWrite:        {ci.ScopeAPI},
	scopeGitRead:      {ci.ScopeReadRepo, ci.ScopeWriteRepo, ci.ScopeReadAPI, ci.ScopeAPI},
	scopeGitWrite:     {ci.ScopeWriteRepo, ci.ScopeAPI},
	scopeCreateRunner: {ci.ScopeCreateRunner, ci.ScopeAPI},
}

// check answers KindForbidden (insufficient_scope) when who is a personal
// token (or a session signed in with one) without any of the scopes.
func (s scope) check(who *auth.Principal) error {
	if who == nil || who.Token == nil {
		return nil
	}
	for _, need := range scopeNeeds[s] {
		if who.Token.HasScope(need) {
			return nil
		}
	}
	return ci.Errorf(ci.KindForbidden, "403 Forbidden: insufficient_scope, the %s scope is required", strings.Join(scopeNeeds[s], " or "))
}

// projectRule is the rule of one project ability.
type projectRule struct {
	level ci.AccessLevel // the least level on a private project
	// public is the least level on public and internal projects: GitLab's
	// default "public pipelines" lets whoever sees such a project read its
	// pipelines, jobs, logs and artifacts, and clone it.
	public ci.AccessLevel
	write  bool // never job tokens, never anonymous
	scope  scope
}

func (r projectRule) min(p *ci.Project) ci.AccessLevel {
	if p.Visibility != ci.VisibilityPrivate && r.public != 0 {
		return r.public
	}
	return r.level
}

func read(level, public ci.AccessLevel) projectRule {
	return projectRule{level: level, public: public, scope: scopeRead}
}

func write(level ci.AccessLevel) projectRule {
	return projectRule{level: level, write: true, scope: scopeWrite}
}

// projectRules is the project half of GitLab's permission table.
var projectRules = map[Ability]projectRule{
	ReadProject:           read(ci.AccessGuest, ci.AccessGuest),
	ReadPipeline:          read(ci.AccessReporter, ci.AccessGuest),
	ReadJob:               read(ci.AccessReporter, ci.AccessGuest),
	ReadLog:               read(ci.AccessReporter, ci.AccessGuest),
	ReadArtifact:          read(ci.AccessReporter, ci.AccessGuest),
	ReadPipelineVariables: read(ci.AccessDeveloper, ci.AccessDeveloper),
	ReadTriggers:          read(ci.AccessMaintainer, ci.AccessMaintainer),
	ReadAllowlist:         read(ci.AccessMaintainer, ci.AccessMaintainer),
	CreatePipeline:        write(ci.AccessDeveloper),
	UpdatePipeline:        write(ci.AccessDeveloper),
	DeletePipeline:        write(ci.AccessOwner),
	UpdateJob:             write(ci.AccessDeveloper),
	KeepArtifacts:         write(ci.AccessDeveloper),
	DeleteArtifacts:       write(ci.AccessMaintainer),
	AdminTriggers:         write(ci.AccessMaintainer),
	AdminAllowlist:        write(ci.AccessMaintainer),
	AdminMembers:          write(ci.AccessMaintainer),
	AdminProjectRunners:   write(ci.AccessMaintainer),
	DeleteProject:         write(ci.AccessOwner),
	ReadCode:              {level: ci.AccessReporter, public: ci.AccessGuest, scope: scopeGitRead},
	PushCode:              {level: ci.AccessDeveloper, write: true, scope: scopeGitWrite},
	// GitLab lets Maintainers rename a project (rename_project) but only
	// Owners change its visibility (change_visibility_level).
	AdminProject:     write(ci.AccessMaintainer),
	ChangeVisibility: write(ci.AccessOwner),

	// CI/CD variables are Maintainers' (GitLab's admin_cicd_variables),
	// reading them too: values are secrets. Job tokens never (Reporter).
	ReadVariables:      read(ci.AccessMaintainer, ci.AccessMaintainer),
	AdminVariables:     write(ci.AccessMaintainer),
	ReadProtectedRefs:  read(ci.AccessReporter, ci.AccessReporter),
	AdminProtectedRefs: write(ci.AccessMaintainer),
	// GitLab: read_commit_status as read_build, create_commit_status for
	// Developers.
	ReadCommitStatus:   read(ci.AccessReporter, ci.AccessGuest),
	CreateCommitStatus: write(ci.AccessDeveloper),

	// GitLab: Reporters see schedules, Developers create and play them
	// and edit their own, Maintainers edit anyone's and take ownership.
	ReadPipelineSchedules:  read(ci.AccessReporter, ci.AccessReporter),
	CreatePipelineSchedule: write(ci.AccessDeveloper),
	UpdatePipelineSchedule: write(ci.AccessDeveloper),
	AdminPipelineSchedules: write(ci.AccessMaintainer),
	PlayPipelineSchedule:   write(ci.AccessDeveloper),
	// Webhooks carry a secret token and reach out of Baton: Maintainers.
	ReadHooks:  read(ci.AccessMaintainer, ci.AccessMaintainer),
	AdminHooks: write(ci.AccessMaintainer),
	// GitLab: Reporters view environments and deployments (anyone who sees
	// a public project's pipelines too), Developers create and stop them,
	// Maintainers delete them.
	ReadEnvironment:   read(ci.AccessReporter, ci.AccessGuest),
	CreateEnvironment: write(ci.AccessDeveloper),
	StopEnvironment:   write(ci.AccessDeveloper),
	DeleteEnvironment: write(ci.AccessMaintainer),
	// GitLab: resource groups are read by Reporters, changed by Developers.
	ReadResourceGroup:   read(ci.AccessReporter, ci.AccessReporter),
	UpdateResourceGroup: write(ci.AccessDeveloper),
	// GitLab: Guests read releases (anyone who sees a public project),
	// Developers create and edit them, Maintainers delete them.
	ReadRelease:   read(ci.AccessGuest, ci.AccessGuest),
	CreateRelease: write(ci.AccessDeveloper),
	UpdateRelease: write(ci.AccessDeveloper),
	DeleteRelease: write(ci.AccessMaintainer),
	// Maintainers see and revoke the artifact tokens jobs handed out, on
	// public projects too (the uses list names who fetched what from where).
	ReadArtifactTokens:  read(ci.AccessMaintainer, ci.AccessMaintainer),
	AdminArtifactTokens: write(ci.AccessMaintainer),
}

// namespaceRule is the rule of one group ability.
type namespaceRule struct {
	minLevel ci.AccessLevel
	write    bool
	scope    scope
}

var namespaceRules = map[Ability]namespaceRule{
	ReadGroup:         {minLevel: ci.AccessGuest, scope: scopeRead},
	CreateProjectIn:   {minLevel: ci.AccessDeveloper, write: true, scope: scopeWrite},
	CreateSubgroup:    {minLevel: ci.AccessMaintainer, write: true, scope: scopeWrite},
	AdminGroupMembers: {minLevel: ci.AccessOwner, write: true, scope: scopeWrite},
	AdminGroupRunners: {minLevel: ci.AccessOwner, write: true, scope: scopeWrite},

	// Group CI/CD variables are Owners' (GitLab's admin_cicd_variables on groups).
	ReadGroupVariables:  {minLevel: ci.AccessOwner, scope: scopeRead},
	AdminGroupVariables: {minLevel: ci.AccessOwner, write: true, scope: scopeWrite},
}

// instanceRule is the rule of one instance ability.
type instanceRule struct {
	anonymous bool // callers without credentials may
	admin     bool
	jobs      bool // job tokens may
	scope     scope
	what      string // for the job-token refusal
}

var instanceRules = map[Ability]instanceRule{
	ReadOwnUser:        {scope: scopeRead, what: "read a user's profile"},
	ListGroups:         {anonymous: true, scope: scopeRead, what: "list groups"},
	ListProjects:       {anonymous: true, jobs: true, scope: scopeRead, what: "list projects"},
	CreateProject:      {scope: scopeWrite, what: "create projects or groups"},
	ReadAdmin:          {admin: true, scope: scopeRead, what: "administer Baton"},
	AdminInstance:      {admin: true, scope: scopeWrite, what: "administer Baton"},
	ListInstanceRunner: {admin: true, scope: scopeRead, what: "list runners"},

	ReadInstanceVariables:  {admin: true, scope: scopeRead, what: "read instance CI/CD variables"},
	AdminInstanceVariables: {admin: true, scope: scopeWrite, what: "change instance CI/CD variables"},
}
