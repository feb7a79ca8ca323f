package runnerapi

// specJob mirrors gitlab-runner's common/spec.Job with its exact Go types,
// so that decoding fails on any JSON type the runner would reject.
type specJob struct {
	ID            int64  `json:"id"`
	Token         string `json:"token"`
	AllowGitFetch bool   `json:"allow_git_fetch"`
	JobInfo       struct {
		Name                                     string  `json:"name"`
		Stage                                    string  `json:"stage"`
		ProjectID                                int64   `json:"project_id"`
		ProjectName                              string  `json:"project_name"`
		ProjectFullPath                          string  `json:"project_full_path"`
		PipelineID                               int64   `json:"pipeline_id"`
		NamespaceID                              int64   `json:"namespace_id"`
		UserID                                   int64   `json:"user_id"`
		TimeInQueueSeconds                       float64 `json:"time_in_queue_seconds"`
		ProjectJobsRunningOnInstanceRunnersCount string  `json:"project_jobs_running_on_instance_runners_count"`
	} `json:"job_info"`
	GitInfo struct {
		RepoURL   string   `json:"repo_url"`
		Ref       string   `json:"ref"`
		Sha       string   `json:"sha"`
		BeforeSha string   `json:"before_sha"`
		RefType   string   `json:"ref_type"`
		Refspecs  []string `json:"refspecs"`
		Depth     int      `json:"depth"`
		Protected *bool    `json:"protected"`
	} `json:"git_info"`
	RunnerInfo struct {
		Timeout int `json:"timeout"`
	} `json:"runner_info"`
	Variables []struct {
		Key      string `json:"key"`
		Value    string `json:"value"`
		Public   bool   `json:"public"`
		Internal bool   `json:"internal"`
		File     bool   `json:"file"`
		Masked   bool   `json:"masked"`
		Raw      bool   `json:"raw"`
	} `json:"variables"`
	Steps []struct {
		Name         string   `json:"name"`
		Script       []string `json:"script"`
		Timeout      int      `json:"timeout"`
		When         string   `json:"when"`
		AllowFailure bool     `json:"allow_failure"`
	} `json:"steps"`
	Image     specImage   `json:"image"`
	Services  []specImage `json:"services"`
	Artifacts []struct {
		Name           string   `json:"name"`
		Untracked      bool     `json:"untracked"`
		Paths          []string `json:"paths"`
		Exclude        []string `json:"exclude"`
		When           string   `json:"when"`
		ArtifactType   string   `json:"artifact_type"`
		ArtifactFormat string   `json:"artifact_format"`
		ExpireIn       string   `json:"expire_in"`
	} `json:"artifacts"`
	Cache []struct {
		Key          string   `json:"key"`
		Untracked    bool     `json:"untracked"`
		Policy       string   `json:"policy"`
		Paths        []string `json:"paths"`
		When         string   `json:"when"`
		FallbackKeys []string `json:"fallback_keys"`
	} `json:"cache"`
	Credentials []struct {
		Type string `json:"type"`
	} `json:"credentials"`
	Dependencies []struct {
		ID            int64  `json:"id"`
		Token         string `json:"token"`
		Name          string `json:"name"`
		ArtifactsFile struct {
			Filename string `json:"filename"`
			Size     int64  `json:"size"`
		} `json:"artifacts_file"`
	} `json:"dependencies"`
	Features struct {
		TraceSections     bool     `json:"trace_sections"`
		TokenMaskPrefixes []string `json:"token_mask_prefixes"`
		FailureReasons    []string `json:"failure_reasons"`
	} `json:"features"`
	Run string `json:"run"`
}

type specImage struct {
	Name       string   `json:"name"`
	Alias      string   `json:"alias"`
	Command    []string `json:"command"`
	Entrypoint []string `json:"entrypoint"`
	PullPolicy []string `json:"pull_policy"`
}

// variable returns the value of the last variable named key.
func (j *specJob) variable(key string) (string, bool) {
	for i := len(j.Variables) - 1; i >= 0; i-- {
		if j.Variables[i].Key == key {
			return j.Variables[i].Value, true
		}
	}
	return "", false
}
