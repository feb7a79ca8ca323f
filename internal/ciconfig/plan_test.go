package ciconfig

import (
	"testing"

	"github.com/batonci/baton/internal/ci"
)

func TestPlanStages(t *testing.T) {
	tests := []struct {
		name       string
		yaml       string
		wantStages []string
		wantStage  map[string]string
	}{
		{
			name:       "default stages and default job stage test",
			yaml:       "unit:\n  script: go test ./...\n",
			wantStages: []string{".pre", "build", "test", "deploy", ".post"},
			wantStage:  map[string]string{"unit": "test"},
		},
		{
			name: "custom stages with .pre and .post jobs",
			yaml: `stages: [lint, build, ship]
fmt:
  stage: .pre
  script: gofmt -l .
compile:
  stage: build
  script: go build
notify:
  stage: .post
  script: echo done
`,
			wantStages: []string{".pre", "lint", "build", "ship", ".post"},
			wantStage:  map[string]string{"fmt": ".pre", "compile": "build", "notify": ".post"},
		},
		{
			name:       "explicit .pre and .post in stages are placed first and last",
			yaml:       "stages: [.post, build, .pre]\nb:\n  stage: build\n  script: make\n",
			wantStages: []string{".pre", "build", ".post"},
			wantStage:  map[string]string{"b": "build"},
		},
		{
			name:       "stages nested by an anchor are flattened",
			yaml:       ".common: &common [build, test]\nstages: [*common, deploy]\nd:\n  stage: deploy\n  script: ./deploy\n",
			wantStages: []string{".pre", "build", "test", "deploy", ".post"},
			wantStage:  map[string]string{"d": "deploy"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := mustPlan(t, tt.yaml, nil)
			assertEqual(t, plan.Stages, tt.wantStages)
			for name, stage := range tt.wantStage {
				if got := job(t, plan, name).Stage; got != stage {
					t.Errorf("%s stage = %q, want %q", name, got, stage)
				}
			}
		})
	}
}

func TestPlanJobSpec(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want ci.JobSpec
	}{
		{
			name: "script forms and nested anchors",
			yaml: `.setup: &setup
  - apt-get update
  - apt-get install -y make
build:
  before_script:
    - *setup
    - echo ready
  script: make all
  after_script: [echo bye]
`,
			want: ci.JobSpec{Name: "build", Stage: "test", When: "on_success",
				BeforeScript: []string{"apt-get update", "apt-get install -y make", "echo ready"},
				Script:       []string{"make all"}, AfterScript: []string{"echo bye"}},
		},
		{
			name: "default section with job keys winning",
			yaml: `default:
  image: golang:1.26
  services: [postgres:16]
  before_script: [go version]
  after_script: [echo cleanup]
  tags: [linux]
  timeout: 1h
  retry: 1
  interruptible: true
  artifacts:
    paths: [out/]
test:
  image: golang:1.25
  tags: [docker, amd64]
  script: go test ./...
`,
			want: ci.JobSpec{Name: "test", Stage: "test", When: "on_success",
				Image:        &ci.ImageSpec{Name: "golang:1.25"},
				Services:     []ci.ImageSpec{{Name: "postgres:16"}},
				BeforeScript: []string{"go version"}, Script: []string{"go test ./..."},
				AfterScript: []string{"echo cleanup"}, Tags: []string{"docker", "amd64"},
				Timeout: 3600, Retry: ci.RetrySpec{Max: 1}, Interruptible: true,
				Artifacts: &ci.ArtifactsSpec{Paths: []string{"out/"}}},
		},
		{
			name: "legacy top-level image and before_script act as defaults",
			yaml: "image: alpine:3\nbefore_script: [id]\nj:\n  script: ls\n",
			want: ci.JobSpec{Name: "j", Stage: "test", When: "on_success",
				Image: &ci.ImageSpec{Name: "alpine:3"}, BeforeScript: []string{"id"}, Script: []string{"ls"}},
		},
		{
			name: "inherit default false and a list",
			yaml: `default:
  image: alpine
  tags: [linux]
j:
  inherit:
    default: [tags]
  script: ls
`,
			want: ci.JobSpec{Name: "j", Stage: "test", When: "on_success", Tags: []string{"linux"}, Script: []string{"ls"}},
		},
		{
			name: "variables: global then job, job wins, scalars converted, hash form",
			yaml: `variables:
  GO_VERSION: "1.26"
  RETRIES: 3
  DEBUG: false
  DEPLOY_ENV:
    value: staging
    description: Where to deploy
  LITERAL:
    value: $NOT_EXPANDED
    expand: false
build:
  variables:
    DEBUG: "true"
    TARGET: linux/amd64
  script: make
`,
			want: ci.JobSpec{Name: "build", Stage: "test", When: "on_success", Script: []string{"make"},
				Variables: []ci.Variable{
					{Key: "GO_VERSION", Value: "1.26"}, {Key: "RETRIES", Value: "3"}, {Key: "DEBUG", Value: "true"},
					{Key: "DEPLOY_ENV", Value: "staging"}, {Key: "LITERAL", Value: "$NOT_EXPANDED", Raw: true},
					{Key: "TARGET", Value: "linux/amd64"}}},
		},
		{
			name: "inherit variables false drops globals",
			yaml: "variables: {A: a}\nj:\n  inherit: {variables: false}\n  variables: {B: b}\n  script: ls\n",
			want: ci.JobSpec{Name: "j", Stage: "test", When: "on_success", Script: []string{"ls"},
				Variables: []ci.Variable{{Key: "B", Value: "b"}}},
		},
		{
			name: "image and services hash forms",
			yaml: `e2e:
  image:
    name: registry.example.com/tools:1
    entrypoint: [""]
    pull_policy: [always, if-not-present]
  services:
    - name: postgres:16
      alias: db
      command: ["postgres", "-c", "fsync=off"]
    - redis:7
  script: ./e2e.sh
`,
			want: ci.JobSpec{Name: "e2e", Stage: "test", When: "on_success", Script: []string{"./e2e.sh"},
				Image: &ci.ImageSpec{Name: "registry.example.com/tools:1", Entrypoint: []string{""},
					PullPolicy: []string{"always", "if-not-present"}},
				Services: []ci.ImageSpec{{Name: "postgres:16", Alias: "db", Command: []string{"postgres", "-c", "fsync=off"}},
					{Name: "redis:7"}}},
		},
		{
			name: "when manual defaults allow_failure to true",
			yaml: "deploy:\n  stage: deploy\n  when: manual\n  script: ./deploy\n",
			want: ci.JobSpec{Name: "deploy", Stage: "deploy", When: "manual", AllowFailure: true, Script: []string{"./deploy"}},
		},
		{
			name: "manual with explicit allow_failure false blocks",
			yaml: "deploy:\n  when: manual\n  allow_failure: false\n  script: ./deploy\n",
			want: ci.JobSpec{Name: "deploy", Stage: "test", When: "manual", Script: []string{"./deploy"}},
		},
		{
			name: "allow_failure exit codes",
			yaml: "lint:\n  allow_failure:\n    exit_codes: [137, 255]\n  script: lint\n",
			want: ci.JobSpec{Name: "lint", Stage: "test", When: "on_success", Script: []string{"lint"},
				AllowFailureExitCodes: []int{137, 255}},
		},
		{
			name: "artifacts with reports",
			yaml: `test:
  script: go test ./... | go-junit-report > report.xml
  artifacts:
    name: "$CI_JOB_NAME-$CI_COMMIT_REF_NAME"
    paths: [bin/, coverage.out]
    exclude: ["bin/**/*.o"]
    untracked: true
    when: always
    expire_in: 1 week
    reports:
      junit: report.xml
      dotenv: [build.env]
      coverage_report:
        coverage_format: cobertura
        path: coverage.xml
`,
			want: ci.JobSpec{Name: "test", Stage: "test", When: "on_success",
				Script: []string{"go test ./... | go-junit-report > report.xml"},
				Artifacts: &ci.ArtifactsSpec{Name: "$CI_JOB_NAME-$CI_COMMIT_REF_NAME", Paths: []string{"bin/", "coverage.out"},
					Exclude: []string{"bin/**/*.o"}, Untracked: true, When: "always", ExpireIn: "1 week",
					Reports: map[string][]string{"junit": {"report.xml"}, "dotenv": {"build.env"}, "coverage_report": {"coverage.xml"}}}},
		},
		{
			name: "retry hash, timeout, environment, coverage",
			yaml: `deploy:
  stage: deploy
  script: ./deploy
  retry:
    max: 2
    when: [runner_system_failure, stuck_or_timeout_failure]
    exit_codes: 137
  timeout: 3 hours 30 minutes
  environment:
    name: production
    url: https://example.com
  coverage: '/total:\s+(\d+.\d+)%/'
  resource_group: production
  id_tokens:
    VAULT_TOKEN:
      aud: https://vault.example.com
  cache:
    key: deps
    paths: [vendor/]
`,
			want: ci.JobSpec{Name: "deploy", Stage: "deploy", When: "on_success", Script: []string{"./deploy"},
				Retry:   ci.RetrySpec{Max: 2, When: []string{"runner_system_failure", "stuck_or_timeout_failure"}, ExitCodes: []int{137}},
				Timeout: 12600, Environment: "production", Coverage: `/total:\s+(\d+.\d+)%/`,
				Cache:  []ci.CacheSpec{{Key: "deps", Paths: []string{"vendor/"}}},
				Deploy: &ci.EnvironmentSpec{Name: "production", URL: "https://example.com"}, ResourceGroup: "production"},
		},
		{
			name: "retry when always means every failure",
			yaml: "j:\n  retry: {max: 2, when: always}\n  script: ls\n",
			want: ci.JobSpec{Name: "j", Stage: "test", When: "on_success", Script: []string{"ls"}, Retry: ci.RetrySpec{Max: 2}},
		},
		{
			name: "merge keys and hidden jobs",
			yaml: `.defaults: &defaults
  image: ruby:3.3
  tags: [docker]
  variables: {RAILS_ENV: test}
rspec:
  <<: *defaults
  tags: [big]
  script: bundle exec rspec
`,
			want: ci.JobSpec{Name: "rspec", Stage: "test", When: "on_success", Image: &ci.ImageSpec{Name: "ruby:3.3"},
				Tags: []string{"big"}, Variables: []ci.Variable{{Key: "RAILS_ENV", Value: "test"}},
				Script: []string{"bundle exec rspec"}},
		},
		{
			name: "null keys count as unset",
			yaml: "j:\n  script: ls\n  variables:\n  tags:\n",
			want: ci.JobSpec{Name: "j", Stage: "test", When: "on_success", Script: []string{"ls"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := mustPlan(t, tt.yaml, nil)
			if len(plan.Jobs) != 1 {
				t.Fatalf("jobs = %v, want just %s", jobNames(plan), tt.want.Name)
			}
			assertEqual(t, effective(plan)[0], tt.want)
		})
	}
}

func TestPlanWhenNeverAtJobLevelExcludesJob(t *testing.T) {
	plan := mustPlan(t, "a:\n  script: ls\nb:\n  when: never\n  script: ls\n", nil)
	assertEqual(t, jobNames(plan), []string{"a"})
}

func TestPlanJobOrderFollowsFile(t *testing.T) {
	plan := mustPlan(t, "deploy:\n  stage: deploy\n  script: d\nbuild:\n  stage: build\n  script: b\ntest:\n  script: t\n", nil)
	assertEqual(t, jobNames(plan), []string{"deploy", "build", "test"})
}
