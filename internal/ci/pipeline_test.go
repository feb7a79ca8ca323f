package ci

import (
	"testing"
	"time"
)

func TestNewJobs(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := &Pipeline{ProjectID: 7, UserID: 9}
	stages := []string{".pre", "build", "test"}
	cases := []struct {
		name    string
		jobs    []JobSpec
		want    []int // StageIdx per job
		invalid bool
	}{
		{"stages by index", []JobSpec{{Name: "a", Stage: "test"}, {Name: "b", Stage: "build"}, {Name: "c", Stage: ".pre"}}, []int{2, 1, 0}, false},
		{"no jobs", nil, []int{}, false},
		{"unknown stage", []JobSpec{{Name: "a", Stage: "build"}, {Name: "x", Stage: "nope"}}, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan := &PipelinePlan{Stages: stages, Jobs: c.jobs}
			jobs, err := plan.NewJobs(p, now)
			if c.invalid {
				if KindOf(err) != KindInvalid {
					t.Fatalf("NewJobs = %v, want invalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(jobs) != len(c.want) {
				t.Fatalf("%d jobs, want %d", len(jobs), len(c.want))
			}
			for i, j := range jobs {
				if j.StageIdx != c.want[i] || j.Name != c.jobs[i].Name || j.Stage != c.jobs[i].Stage || j.Status != StatusCreated ||
					j.Attempt != 1 || j.ProjectID != p.ProjectID || j.UserID != p.UserID || !j.CreatedAt.Equal(now) || j.Spec.Name != c.jobs[i].Name {
					t.Errorf("job %d = %+v", i, j)
				}
			}
		})
	}
}
