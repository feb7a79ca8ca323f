package api

import (
	"net/http"

	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/policy"
)

// Register adds the API's routes under /api/v4 to mux. Every route takes
// JSON or form parameters (artifacts are uploaded through the runner API),
// so every body is bounded by httpx.SmallBody, except the routes that
// create pipelines with variables (httpx.ParamsBody).
func (s *Server) Register(mux httpx.Mux) {
	h := func(pattern string, fn handlerFunc) {
		mux.Handle(pattern, httpx.LimitBody(httpx.SmallBody, s.wrap(fn)))
	}
	withVariables := func(pattern string, fn handlerFunc) {
		mux.Handle(pattern, httpx.LimitBody(httpx.ParamsBody, s.wrap(fn)))
	}

	h("GET /api/v4/version", s.getVersion)
	h("GET /api/v4/user", s.getCurrentUser)
	h("GET /api/v4/users", s.listUsers)
	h("POST /api/v4/users", s.createUser)
	h("POST /api/v4/users/{user_id}/personal_access_tokens", s.createUserToken)

	h("GET /api/v4/groups", s.listGroups)
	h("POST /api/v4/groups", s.createGroup)
	h("GET /api/v4/groups/{id}", s.getGroup)
	h("GET /api/v4/groups/{id}/members", s.listGroupMembers)
	h("POST /api/v4/groups/{id}/members", s.addGroupMember)

	h("GET /api/v4/projects", s.listProjects)
	h("POST /api/v4/projects", s.createProject)
	h("GET /api/v4/projects/{id}", s.getProject)
	h("DELETE /api/v4/projects/{id}", s.deleteProject)
	h("GET /api/v4/projects/{id}/members", s.listProjectMembers)
	h("POST /api/v4/projects/{id}/members", s.addProjectMember)
	h("DELETE /api/v4/projects/{id}/members/{user_id}", s.removeProjectMember)
	h("GET /api/v4/projects/{id}/job_token_scope/allowlist", s.listAllowlist)
	h("POST /api/v4/projects/{id}/job_token_scope/allowlist", s.addAllowlist)
	h("DELETE /api/v4/projects/{id}/job_token_scope/allowlist/{target_project_id}", s.removeAllowlist)

	withVariables("POST /api/v4/projects/{id}/pipeline", s.createPipeline)
	h("GET /api/v4/projects/{id}/pipelines", s.listPipelines)
	h("GET /api/v4/projects/{id}/pipelines/latest", s.latestPipeline)
	h("GET /api/v4/projects/{id}/pipelines/{pipeline_id}", s.getPipeline)
	h("DELETE /api/v4/projects/{id}/pipelines/{pipeline_id}", s.deletePipeline)
	h("POST /api/v4/projects/{id}/pipelines/{pipeline_id}/cancel", s.cancelPipeline)
	h("POST /api/v4/projects/{id}/pipelines/{pipeline_id}/retry", s.retryPipeline)
	h("GET /api/v4/projects/{id}/pipelines/{pipeline_id}/variables", s.pipelineVariablesList)
	h("GET /api/v4/projects/{id}/pipelines/{pipeline_id}/jobs", s.listPipelineJobs)

	h("GET /api/v4/projects/{id}/triggers", s.listTriggers)
	h("POST /api/v4/projects/{id}/triggers", s.createTrigger)
	h("DELETE /api/v4/projects/{id}/triggers/{trigger_id}", s.deleteTrigger)
	withVariables("POST /api/v4/projects/{id}/trigger/pipeline", s.triggerPipeline)
	withVariables("POST /api/v4/projects/{id}/ref/{ref}/trigger/pipeline", s.triggerPipeline)

	h("GET /api/v4/job", s.getOwnJob)
	h("GET /api/v4/projects/{id}/jobs", s.listProjectJobs)
	h("GET /api/v4/projects/{id}/jobs/{job_id}", s.getJob)
	h("GET /api/v4/projects/{id}/jobs/{job_id}/trace", s.getJobTrace)
	h("POST /api/v4/projects/{id}/jobs/{job_id}/cancel", s.jobAction(policy.UpdateJob, s.cancelJob, http.StatusCreated))
	h("POST /api/v4/projects/{id}/jobs/{job_id}/retry", s.jobAction(policy.UpdateJob, s.retryJob, http.StatusCreated))
	h("POST /api/v4/projects/{id}/jobs/{job_id}/play", s.jobAction(policy.UpdateJob, s.playJob, http.StatusOK))
	h("POST /api/v4/projects/{id}/jobs/{job_id}/erase", s.jobAction(policy.DeleteArtifacts, s.eraseJob, http.StatusCreated))

	// Artifacts: Baton's pipeline and commit scopes, GitLab's job and ref scopes.
	for _, scope := range []struct {
		prefix string
		choose artifactHandler
	}{
		{"/api/v4/projects/{id}/pipelines/{pipeline_id}/artifacts", s.choosePipeline},
		{"/api/v4/projects/{id}/repository/commits/{sha}/artifacts", s.chooseCommit},
	} {
		h("GET "+scope.prefix, s.serveChosen(scope.choose, true, s.archiveOfChosen))
		h("GET "+scope.prefix+"/raw/{path...}", s.serveChosen(scope.choose, true, s.rawOfChosen))
		h("GET "+scope.prefix+"/tree", s.serveChosen(scope.choose, true, s.treeOfChosen))
	}
	h("GET /api/v4/projects/{id}/jobs/{job_id}/{rest...}", s.jobSubroutes)
	h("POST /api/v4/projects/{id}/jobs/{job_id}/artifacts/keep", s.keepArtifacts)
	h("DELETE /api/v4/projects/{id}/jobs/{job_id}/artifacts", s.deleteJobArtifacts)
	h("DELETE /api/v4/projects/{id}/artifacts", s.deleteProjectArtifacts)

	// Anything else under /api/v4 is GitLab's 404 in JSON, not a web page.
	h("/api/v4/", func(w http.ResponseWriter, r *http.Request) error {
		httpx.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
		return nil
	})
}
