package api

import (
	"context"
	"net/http"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/policy"
)

// route is one line of the API's route table: the method and path, the
// ability the caller needs (or a marker saying why none is asked), the most
// body bytes the route reads, and the handler. The handler does not name
// the ability: projectFor, pipelineFor, jobFor, groupFor and instanceFor
// ask the policy for the route's.
type route struct {
	pattern string
	ability policy.Ability
	body    int64
	handler handlerFunc
}

// Body limits: every route takes JSON or form parameters (artifacts are
// uploaded through the runner API), so small, except the routes that create
// pipelines with variables.
const (
	small     = httpx.SmallBody
	variables = httpx.ParamsBody
	lint      = httpx.ParamsBody // POST ci/lint: content up to ciconfig's 1 MiB file limit
)

// routes is the API's route table, the one place that says which ability
// each route needs.
func (s *Server) routes() []route {
	chosen := func(choose artifactHandler, serve serveFunc) handlerFunc { return s.serveChosen(choose, true, serve) }
	return []route{
		{"GET /api/v4/version", policy.SignedIn, small, s.getVersion},
		{"GET /api/v4/user", policy.ReadOwnUser, small, s.getCurrentUser},
		{"GET /api/v4/users", policy.SignedIn, small, s.listUsers},
		{"POST /api/v4/users", policy.AdminInstance, small, s.createUser},
		{"POST /api/v4/users/{user_id}/personal_access_tokens", policy.AdminInstance, small, s.createUserToken},

		{"GET /api/v4/groups", policy.ListGroups, small, s.listGroups},
		{"POST /api/v4/groups", policy.CreateProject, small, s.createGroup},
		{"GET /api/v4/groups/{id}", policy.ReadGroup, small, s.getGroup},
		{"GET /api/v4/groups/{id}/members", policy.ReadGroup, small, s.listGroupMembers},
		{"POST /api/v4/groups/{id}/members", policy.AdminGroupMembers, small, s.addGroupMember},

		{"GET /api/v4/projects", policy.ListProjects, small, s.listProjects},
		{"POST /api/v4/projects", policy.CreateProject, small, s.createProject},
		{"GET /api/v4/projects/{id}", policy.ReadProject, small, s.getProject},
		{"PUT /api/v4/projects/{id}", policy.AdminProject, small, s.editProject},
		{"DELETE /api/v4/projects/{id}", policy.DeleteProject, small, s.deleteProject},
		{"GET /api/v4/projects/{id}/members", policy.ReadProject, small, s.listProjectMembers},
		{"POST /api/v4/projects/{id}/members", policy.AdminMembers, small, s.addProjectMember},
		{"GET /api/v4/projects/{id}/members/all", policy.ReadProject, small, s.listAllProjectMembers},
		{"DELETE /api/v4/projects/{id}/members/{user_id}", policy.AdminMembers, small, s.removeProjectMember},
		{"GET /api/v4/projects/{id}/job_token_scope/allowlist", policy.ReadAllowlist, small, s.onProject(s.listAllowlist)},
		{"POST /api/v4/projects/{id}/job_token_scope/allowlist", policy.AdminAllowlist, small, s.onProject(s.addAllowlist)},
		{"DELETE /api/v4/projects/{id}/job_token_scope/allowlist/{target_project_id}", policy.AdminAllowlist, small, s.onProject(s.removeAllowlist)},

		{"POST /api/v4/projects/{id}/pipeline", policy.CreatePipeline, variables, s.createPipeline},
		{"GET /api/v4/projects/{id}/pipelines", policy.ReadPipeline, small, s.listPipelines},
		{"GET /api/v4/projects/{id}/pipelines/latest", policy.ReadPipeline, small, s.latestPipeline},
		{"GET /api/v4/projects/{id}/pipelines/{pipeline_id}", policy.ReadPipeline, small, s.getPipeline},
		{"DELETE /api/v4/projects/{id}/pipelines/{pipeline_id}", policy.DeletePipeline, small, s.deletePipeline},
		{"POST /api/v4/projects/{id}/pipelines/{pipeline_id}/cancel", policy.UpdatePipeline, small, s.cancelPipeline},
		{"POST /api/v4/projects/{id}/pipelines/{pipeline_id}/retry", policy.UpdatePipeline, small, s.retryPipeline},
		{"GET /api/v4/projects/{id}/pipelines/{pipeline_id}/variables", policy.ReadPipelineVariables, small, s.pipelineVariablesList},
		{"GET /api/v4/projects/{id}/pipelines/{pipeline_id}/jobs", policy.ReadJob, small, s.listPipelineJobs},
		{"GET /api/v4/projects/{id}/pipelines/{pipeline_id}/test_report", policy.ReadJob, small, onResource(s, s.pipelineOf, s.testReport)},
		{"GET /api/v4/projects/{id}/pipelines/{pipeline_id}/test_report_summary", policy.ReadJob, small, onResource(s, s.pipelineOf, s.testReportSummary)},
		{"GET /api/v4/projects/{id}/pipelines/{pipeline_id}/events", policy.ReadPipeline, small, s.pipelineEvents},
		{"GET /api/v4/projects/{id}/pipelines/{pipeline_id}/bridges", policy.ReadJob, small, s.listPipelineBridges},

		{"GET /api/v4/projects/{id}/ci/lint", policy.ReadCode, small, s.onProject(s.lintProjectConfig)},
		{"POST /api/v4/projects/{id}/ci/lint", policy.CreatePipeline, lint, s.onProject(s.lintProjectContent)},

		{"GET /api/v4/projects/{id}/variables", policy.ReadVariables, small, s.onVariables(ci.ScopeProject, s.listVariables)},
		{"GET /api/v4/projects/{id}/variables/{key}", policy.ReadVariables, small, s.onVariables(ci.ScopeProject, s.getVariable)},
		{"POST /api/v4/projects/{id}/variables", policy.AdminVariables, small, s.onVariables(ci.ScopeProject, s.createVariable)},
		{"PUT /api/v4/projects/{id}/variables/{key}", policy.AdminVariables, small, s.onVariables(ci.ScopeProject, s.updateVariable)},
		{"DELETE /api/v4/projects/{id}/variables/{key}", policy.AdminVariables, small, s.onVariables(ci.ScopeProject, s.deleteVariable)},
		{"GET /api/v4/groups/{id}/variables", policy.ReadGroupVariables, small, s.onVariables(ci.ScopeGroup, s.listVariables)},
		{"GET /api/v4/groups/{id}/variables/{key}", policy.ReadGroupVariables, small, s.onVariables(ci.ScopeGroup, s.getVariable)},
		{"POST /api/v4/groups/{id}/variables", policy.AdminGroupVariables, small, s.onVariables(ci.ScopeGroup, s.createVariable)},
		{"PUT /api/v4/groups/{id}/variables/{key}", policy.AdminGroupVariables, small, s.onVariables(ci.ScopeGroup, s.updateVariable)},
		{"DELETE /api/v4/groups/{id}/variables/{key}", policy.AdminGroupVariables, small, s.onVariables(ci.ScopeGroup, s.deleteVariable)},
		{"GET /api/v4/admin/ci/variables", policy.ReadInstanceVariables, small, s.onVariables(ci.ScopeInstance, s.listVariables)},
		{"GET /api/v4/admin/ci/variables/{key}", policy.ReadInstanceVariables, small, s.onVariables(ci.ScopeInstance, s.getVariable)},
		{"POST /api/v4/admin/ci/variables", policy.AdminInstanceVariables, small, s.onVariables(ci.ScopeInstance, s.createVariable)},
		{"PUT /api/v4/admin/ci/variables/{key}", policy.AdminInstanceVariables, small, s.onVariables(ci.ScopeInstance, s.updateVariable)},
		{"DELETE /api/v4/admin/ci/variables/{key}", policy.AdminInstanceVariables, small, s.onVariables(ci.ScopeInstance, s.deleteVariable)},

		{"GET /api/v4/projects/{id}/protected_branches", policy.ReadProtectedRefs, small, s.onProject(s.listProtectedRefs)},
		{"GET /api/v4/projects/{id}/protected_branches/{name}", policy.ReadProtectedRefs, small, onResource(s, s.protectedRefOf, s.getProtectedRef)},
		{"POST /api/v4/projects/{id}/protected_branches", policy.AdminProtectedRefs, small, s.onProject(s.createProtectedRef)},
		{"PATCH /api/v4/projects/{id}/protected_branches/{name}", policy.AdminProtectedRefs, small, onResource(s, s.protectedRefOf, s.updateProtectedBranch)},
		{"DELETE /api/v4/projects/{id}/protected_branches/{name}", policy.AdminProtectedRefs, small, onResource(s, s.protectedRefOf, s.deleteProtectedRef)},
		{"GET /api/v4/projects/{id}/protected_tags", policy.ReadProtectedRefs, small, s.onProject(s.listProtectedRefs)},
		{"GET /api/v4/projects/{id}/protected_tags/{name}", policy.ReadProtectedRefs, small, onResource(s, s.protectedRefOf, s.getProtectedRef)},
		{"POST /api/v4/projects/{id}/protected_tags", policy.AdminProtectedRefs, small, s.onProject(s.createProtectedRef)},
		{"DELETE /api/v4/projects/{id}/protected_tags/{name}", policy.AdminProtectedRefs, small, onResource(s, s.protectedRefOf, s.deleteProtectedRef)},

		{"GET /api/v4/projects/{id}/triggers", policy.ReadTriggers, small, s.onProject(s.listTriggers)},
		{"POST /api/v4/projects/{id}/triggers", policy.AdminTriggers, small, s.onProject(s.createTrigger)},
		{"GET /api/v4/projects/{id}/triggers/{trigger_id}", policy.ReadTriggers, small, onResource(s, s.triggerOf, s.getTrigger)},
		{"PUT /api/v4/projects/{id}/triggers/{trigger_id}", policy.AdminTriggers, small, onResource(s, s.triggerOf, s.updateTrigger)},
		{"DELETE /api/v4/projects/{id}/triggers/{trigger_id}", policy.AdminTriggers, small, s.onProject(s.deleteTrigger)},
		{"POST /api/v4/projects/{id}/trigger/pipeline", policy.TriggerToken, variables, s.triggerPipeline},
		{"POST /api/v4/projects/{id}/ref/{ref}/trigger/pipeline", policy.TriggerToken, variables, s.triggerPipeline},

		// The runners that may run the project's jobs; a project runner of
		// another project enabled or disabled for this one.
		{"GET /api/v4/projects/{id}/runners", policy.AdminProjectRunners, small, s.onProject(s.listProjectRunners)},
		{"POST /api/v4/projects/{id}/runners", policy.AdminProjectRunners, small, s.onProject(s.enableProjectRunner)},
		{"DELETE /api/v4/projects/{id}/runners/{runner_id}", policy.AdminProjectRunners, small, s.onProject(s.disableProjectRunner)},

		// The repository, read through git (repository.go), and the
		// statuses outside systems report for commits.
		{"GET /api/v4/projects/{id}/repository/branches", policy.ReadCode, small, s.onCode(s.listBranches)},
		{"GET /api/v4/projects/{id}/repository/branches/{branch}", policy.ReadCode, small, s.onCode(s.getBranch)},
		{"GET /api/v4/projects/{id}/repository/tags", policy.ReadCode, small, s.onCode(s.listTags)},
		{"GET /api/v4/projects/{id}/repository/tags/{tag_name}", policy.ReadCode, small, s.onCode(s.getTag)},
		{"GET /api/v4/projects/{id}/repository/commits", policy.ReadCode, small, s.onCode(s.listCommits)},
		{"GET /api/v4/projects/{id}/repository/commits/{sha}", policy.ReadCode, small, s.onCode(s.getCommit)},
		{"GET /api/v4/projects/{id}/repository/commits/{sha}/statuses", policy.ReadCommitStatus, small, s.onCode(s.listCommitStatuses)},
		{"POST /api/v4/projects/{id}/statuses/{sha}", policy.CreateCommitStatus, small, s.onCode(s.createCommitStatus)},
		{"GET /api/v4/projects/{id}/repository/tree", policy.ReadCode, small, s.listTree},
		{"GET /api/v4/projects/{id}/repository/files/{file_path}", policy.ReadCode, small, s.getFile},
		{"GET /api/v4/projects/{id}/repository/files/{file_path}/raw", policy.ReadCode, small, s.getRawFile},
		{"GET /api/v4/projects/{id}/repository/compare", policy.ReadCode, small, s.onCode(s.compare)},

		{"GET /api/v4/projects/{id}/environments", policy.ReadEnvironment, small, s.onProject(s.listEnvironments)},
		{"POST /api/v4/projects/{id}/environments", policy.CreateEnvironment, small, s.onProject(s.createEnvironment)},
		{"GET /api/v4/projects/{id}/environments/{environment_id}", policy.ReadEnvironment, small, onResource(s, s.environmentOf, s.getEnvironment)},
		{"POST /api/v4/projects/{id}/environments/{environment_id}/stop", policy.StopEnvironment, small, onResource(s, s.environmentOf, s.stopEnvironment)},
		{"DELETE /api/v4/projects/{id}/environments/{environment_id}", policy.DeleteEnvironment, small, onResource(s, s.environmentOf, s.deleteEnvironment)},
		{"GET /api/v4/projects/{id}/deployments", policy.ReadEnvironment, small, s.onProject(s.listDeployments)},
		{"GET /api/v4/projects/{id}/deployments/{deployment_id}", policy.ReadEnvironment, small, onResource(s, s.deploymentOf, s.getDeployment)},
		{"GET /api/v4/projects/{id}/resource_groups", policy.ReadResourceGroup, small, s.onProject(s.listResourceGroups)},
		{"GET /api/v4/projects/{id}/resource_groups/{key}", policy.ReadResourceGroup, small, onResource(s, s.resourceGroupOf, s.getResourceGroup)},
		{"PUT /api/v4/projects/{id}/resource_groups/{key}", policy.UpdateResourceGroup, small, onResource(s, s.resourceGroupOf, s.editResourceGroup)},
		{"GET /api/v4/projects/{id}/resource_groups/{key}/upcoming_jobs", policy.ReadResourceGroup, small, onResource(s, s.resourceGroupOf, s.upcomingJobs)},
		{"GET /api/v4/projects/{id}/releases", policy.ReadRelease, small, s.onProject(s.listReleases)},
		{"POST /api/v4/projects/{id}/releases", policy.CreateRelease, variables, s.onProject(s.createRelease)},
		{"GET /api/v4/projects/{id}/releases/{tag_name}", policy.ReadRelease, small, onResource(s, s.releaseOf, s.getRelease)},
		{"PUT /api/v4/projects/{id}/releases/{tag_name}", policy.UpdateRelease, variables, onResource(s, s.releaseOf, s.editRelease)},
		{"DELETE /api/v4/projects/{id}/releases/{tag_name}", policy.DeleteRelease, small, onResource(s, s.releaseOf, s.deleteRelease)},
		{"GET /api/v4/projects/{id}/releases/{tag_name}/assets/links", policy.ReadRelease, small, onResource(s, s.releaseOf, s.listReleaseLinks)},
		{"POST /api/v4/projects/{id}/releases/{tag_name}/assets/links", policy.UpdateRelease, small, onResource(s, s.releaseOf, s.createReleaseLink)},
		{"GET /api/v4/projects/{id}/releases/{tag_name}/assets/links/{link_id}", policy.ReadRelease, small, onResource(s, s.releaseLinkOf, s.getReleaseLink)},
		{"PUT /api/v4/projects/{id}/releases/{tag_name}/assets/links/{link_id}", policy.UpdateRelease, small, onResource(s, s.releaseLinkOf, s.editReleaseLink)},
		{"DELETE /api/v4/projects/{id}/releases/{tag_name}/assets/links/{link_id}", policy.UpdateRelease, small, onResource(s, s.releaseLinkOf, s.deleteReleaseLink)},
		{"GET /api/v4/projects/{id}/pipeline_schedules", policy.ReadPipelineSchedules, small, s.onProject(s.listSchedules)},
		{"POST /api/v4/projects/{id}/pipeline_schedules", policy.CreatePipelineSchedule, small, s.onProject(s.createSchedule)},
		{"GET /api/v4/projects/{id}/pipeline_schedules/{schedule_id}", policy.ReadPipelineSchedules, small, onResource(s, s.scheduleOf, s.getSchedule)},
		{"GET /api/v4/projects/{id}/pipeline_schedules/{schedule_id}/pipelines", policy.ReadPipelineSchedules, small, onResource(s, s.scheduleOf, s.listSchedulePipelines)},
		{"PUT /api/v4/projects/{id}/pipeline_schedules/{schedule_id}", policy.UpdatePipelineSchedule, small, onResource(s, s.scheduleOf, s.editSchedule)},
		{"DELETE /api/v4/projects/{id}/pipeline_schedules/{schedule_id}", policy.UpdatePipelineSchedule, small, onResource(s, s.scheduleOf, s.deleteSchedule)},
		{"POST /api/v4/projects/{id}/pipeline_schedules/{schedule_id}/take_ownership", policy.AdminPipelineSchedules, small, onResource(s, s.scheduleOf, s.takeOwnership)},
		{"POST /api/v4/projects/{id}/pipeline_schedules/{schedule_id}/play", policy.PlayPipelineSchedule, small, onResource(s, s.scheduleOf, s.playSchedule)},
		{"POST /api/v4/projects/{id}/pipeline_schedules/{schedule_id}/variables", policy.UpdatePipelineSchedule, variables, s.scheduleVariableChange(http.StatusCreated, s.createScheduleVariable)},
		{"PUT /api/v4/projects/{id}/pipeline_schedules/{schedule_id}/variables/{key}", policy.UpdatePipelineSchedule, variables, s.scheduleVariableChange(http.StatusOK, s.editScheduleVariable)},
		{"DELETE /api/v4/projects/{id}/pipeline_schedules/{schedule_id}/variables/{key}", policy.UpdatePipelineSchedule, small, s.scheduleVariableChange(http.StatusAccepted, s.deleteScheduleVariable)},

		{"GET /api/v4/projects/{id}/hooks", policy.ReadHooks, small, s.onProject(s.listHooks)},
		{"POST /api/v4/projects/{id}/hooks", policy.AdminHooks, small, s.onProject(s.createHook)},
		{"GET /api/v4/projects/{id}/hooks/{hook_id}", policy.ReadHooks, small, onResource(s, s.hookOf, s.getHook)},
		{"PUT /api/v4/projects/{id}/hooks/{hook_id}", policy.AdminHooks, small, onResource(s, s.hookOf, s.editHook)},
		{"DELETE /api/v4/projects/{id}/hooks/{hook_id}", policy.AdminHooks, small, onResource(s, s.hookOf, s.deleteHook)},
		{"GET /api/v4/projects/{id}/hooks/{hook_id}/events", policy.ReadHooks, small, onResource(s, s.hookOf, s.listHookEvents)},
		{"POST /api/v4/projects/{id}/hooks/{hook_id}/test/{trigger}", policy.AdminHooks, small, onResource(s, s.hookOf, s.testHook)},

		{"GET /api/v4/job", policy.JobToken, small, s.getOwnJob},
		{"GET /api/v4/projects/{id}/jobs", policy.ReadJob, small, s.listProjectJobs},
		{"GET /api/v4/projects/{id}/jobs/{job_id}", policy.ReadJob, small, s.getJob},
		{"GET /api/v4/projects/{id}/jobs/{job_id}/trace", policy.ReadLog, small, s.getJobTrace},
		{"POST /api/v4/projects/{id}/jobs/{job_id}/cancel", policy.UpdateJob, small, s.jobAction(s.cancelJob, http.StatusCreated)},
		{"POST /api/v4/projects/{id}/jobs/{job_id}/retry", policy.UpdateJob, small, s.jobAction(s.retryJob, http.StatusCreated)},
		{"POST /api/v4/projects/{id}/jobs/{job_id}/play", policy.UpdateJob, small, s.jobAction(s.playJob, http.StatusOK)},
		{"POST /api/v4/projects/{id}/jobs/{job_id}/unschedule", policy.UpdateJob, small, s.jobAction(s.unscheduleJob, http.StatusOK)},
		{"POST /api/v4/projects/{id}/jobs/{job_id}/erase", policy.DeleteArtifacts, small, s.jobAction(s.eraseJob, http.StatusCreated)},

		// Artifacts: Baton's pipeline and commit scopes, GitLab's job and
		// ref scopes (one pattern for both, see jobSubroutes).
		{"GET /api/v4/projects/{id}/pipelines/{pipeline_id}/artifacts", policy.ReadArtifact, small, chosen(s.choosePipeline, s.archiveOfChosen)},
		{"GET /api/v4/projects/{id}/pipelines/{pipeline_id}/artifacts/raw/{path...}", policy.ReadArtifact, small, chosen(s.choosePipeline, s.rawOfChosen)},
		{"GET /api/v4/projects/{id}/pipelines/{pipeline_id}/artifacts/tree", policy.ReadArtifact, small, chosen(s.choosePipeline, s.treeOfChosen)},
		{"GET /api/v4/projects/{id}/repository/commits/{sha}/artifacts", policy.ReadArtifact, small, chosen(s.chooseCommit, s.archiveOfChosen)},
		{"GET /api/v4/projects/{id}/repository/commits/{sha}/artifacts/raw/{path...}", policy.ReadArtifact, small, chosen(s.chooseCommit, s.rawOfChosen)},
		{"GET /api/v4/projects/{id}/repository/commits/{sha}/artifacts/tree", policy.ReadArtifact, small, chosen(s.chooseCommit, s.treeOfChosen)},
		{"GET /api/v4/projects/{id}/pipelines/{pipeline_id}/artifacts/manifest", policy.ReadArtifact, small, chosen(s.choosePipeline, s.manifestOfChosen)},
		{"GET /api/v4/projects/{id}/repository/commits/{sha}/artifacts/manifest", policy.ReadArtifact, small, chosen(s.chooseCommit, s.manifestOfChosen)},
		{"GET /api/v4/projects/{id}/artifacts/by_digest/{sha256}", policy.ReadArtifact, small, s.artifactsByDigest},
		{"GET /api/v4/projects/{id}/jobs/{job_id}/{rest...}", policy.ReadArtifact, small, s.jobSubroutes},
		{"POST /api/v4/projects/{id}/jobs/{job_id}/artifacts/keep", policy.KeepArtifacts, small, s.keepArtifacts},
		{"DELETE /api/v4/projects/{id}/jobs/{job_id}/artifacts", policy.DeleteArtifacts, small, s.deleteJobArtifacts},
		{"DELETE /api/v4/projects/{id}/artifacts", policy.DeleteArtifacts, small, s.deleteProjectArtifacts},

		// Artifact tokens (artifacttoken.go): a running job mints them with
		// its own job token; Maintainers list and revoke them and read
		// their uses. The tokens themselves read only the artifact routes
		// above, through serveChosen.
		{"POST /api/v4/projects/{id}/pipelines/{pipeline_id}/artifact_tokens", policy.OwnJobToken, small, s.mintArtifactToken},
		{"GET /api/v4/projects/{id}/artifact_tokens", policy.ReadArtifactTokens, small, s.onProject(s.listArtifactTokens)},
		{"GET /api/v4/projects/{id}/artifact_tokens/{token_id}", policy.ReadArtifactTokens, small, onResource(s, s.artifactTokenOf, s.getArtifactToken)},
		{"DELETE /api/v4/projects/{id}/artifact_tokens/{token_id}", policy.AdminArtifactTokens, small, onResource(s, s.artifactTokenOf, s.revokeArtifactToken)},
		{"GET /api/v4/projects/{id}/artifact_tokens/{token_id}/uses", policy.ReadArtifactTokens, small, onResource(s, s.artifactTokenOf, s.listArtifactTokenUses)},

		// Anything else under /api/v4 is GitLab's 404 in JSON, not a web page.
		{"/api/v4/", policy.Public, small, notFound},
	}
}

func notFound(w http.ResponseWriter, r *http.Request) error {
	httpx.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
	return nil
}

// Register adds the route table's routes under /api/v4 to mux, each with
// its body limit.
func (s *Server) Register(mux httpx.Mux) {
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, httpx.LimitBody(rt.body, s.wrap(rt.ability, rt.handler)))
	}
}

// Routes describes the route table for checks that walk every surface.
func (s *Server) Routes() []policy.Route {
	rts := s.routes()
	out := make([]policy.Route, len(rts))
	for i, rt := range rts {
		out[i] = policy.Route{Pattern: rt.pattern, Ability: rt.ability, Body: rt.body}
	}
	return out
}

// abilityKey is where wrap puts the route's ability for the handler's
// resource lookup (projectFor, groupFor, instanceFor, ...).
type abilityKey struct{}

// routeAbility is the ability of the route serving r; the zero Ability,
// which the policy refuses, outside a route.
func routeAbility(r *http.Request) policy.Ability {
	a, _ := r.Context().Value(abilityKey{}).(policy.Ability)
	return a
}

func (s *Server) wrap(a policy.Ability, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), abilityKey{}, a))
		if err := h(w, r); err != nil {
			httpx.WriteError(w, r, s.Logger, err)
		}
	})
}
