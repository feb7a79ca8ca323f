package planner

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/ciconfig"
)

// IncludeRepos reads other projects' repositories for include:project,
// include:component and include:template.
type IncludeRepos interface {
	// ResolveRef returns the commit a branch or tag points at; KindNotFound
	// if there is none.
	ResolveRef(ctx context.Context, projectID int64, ref string) (sha string, tag bool, err error)
	// ReadFile returns a file at a commit; KindNotFound if it is absent.
	ReadFile(ctx context.Context, projectID int64, sha, path string) ([]byte, error)
	// BlobID returns the git object id of a file at a commit, whatever its
	// size; KindNotFound if it is absent or not a file.
	BlobID(ctx context.Context, projectID int64, sha, path string) (string, error)
	// Tags lists the repository's tag names.
	Tags(ctx context.Context, projectID int64) ([]string, error)
	// ListPaths lists at most max file paths of the tree at rev.
	ListPaths(ctx context.Context, projectID int64, rev string, max int) (paths []string, complete bool, err error)
}

// Includes reads the files a configuration includes from outside its own
// repository, as the pipeline's user: a project the user may not read is
// reported exactly like a project that does not exist.
type Includes struct {
	Repos    IncludeRepos
	Projects interface {
		ProjectByFullPath(ctx context.Context, fullPath string) (*ci.Project, error)
	}
	// CanReadCode reports whether the user (0: anonymous) may read the
	// project's code (policy ReadCode).
	CanReadCode func(ctx context.Context, userID int64, proj *ci.Project) bool
	// ServerFQDN is the instance's host name, the prefix of components.
	ServerFQDN string
	// TemplatesProject is the full path of the project include:template
	// reads (--templates-project); "" refuses include:template.
	TemplatesProject string
	// Remote fetches include:remote from allowed hosts; nil refuses it.
	Remote *ciconfig.RemoteFetcher
	// RemoteTotal bounds one pipeline's include:remote fetches together;
	// 0 is ciconfig.RemoteTotalTimeout.
	RemoteTotal time.Duration
}

var shaRe = regexp.MustCompile(`^[0-9a-f]{7,40}$`)

// Sources returns what ciconfig reads included files with, for a pipeline
// of userID. The functions are for one pipeline's planning: each project is
// looked up, and each of its refs resolved, once.
func (in *Includes) Sources(ctx context.Context, userID int64) ciconfig.Sources {
	if in == nil {
		return ciconfig.Sources{}
	}
	projects := map[string]*ci.Project{} // by full path; nil: absent or not readable
	project := func(path string) (*ci.Project, error) {
		proj, seen := projects[path]
		if !seen {
			p, err := in.Projects.ProjectByFullPath(ctx, path)
			if err == nil && p != nil && in.CanReadCode(ctx, userID, p) {
				proj = p
			}
			projects[path] = proj
		}
		if proj == nil {
			return nil, ciconfig.ErrProjectNotFound
		}
		return proj, nil
	}
	type resolved struct {
		proj *ci.Project
		sha  string
		err  error
	}
	refs := map[[2]string]resolved{}
	// resolve finds a readable project and the commit of ref in it ("" its
	// default branch).
	resolve := func(path, ref string) (*ci.Project, string, error) {
		key := [2]string{path, ref}
		if r, ok := refs[key]; ok {
			return r.proj, r.sha, r.err
		}
		proj, err := project(path)
		if err != nil {
			return nil, "", err
		}
		if ref == "" {
			ref = proj.DefaultBranch
		}
		sha, _, err := in.Repos.ResolveRef(ctx, proj.ID, ref)
		if err != nil && shaRe.MatchString(ref) {
			sha, err = ref, nil // a commit
		}
		if err != nil {
			err = errors.New("reference not found")
		}
		refs[key] = resolved{proj, sha, err}
		return proj, sha, err
	}
	src := ciconfig.Sources{
		ServerFQDN:       in.ServerFQDN,
		TemplatesProject: in.TemplatesProject,
		ProjectFile: func(path, ref, file string) ([]byte, error) {
			proj, sha, err := resolve(path, ref)
			if err != nil {
				return nil, err
			}
			return in.Repos.ReadFile(ctx, proj.ID, sha, file)
		},
		ProjectFileExists: func(path, ref, file string) (bool, error) {
			proj, sha, err := resolve(path, ref)
			if err != nil {
				return false, err
			}
			_, err = in.Repos.BlobID(ctx, proj.ID, sha, file)
			return blobFound(err)
		},
		ProjectPaths: func(path, ref string, max int) ([]string, error) {
			proj, sha, err := resolve(path, ref)
			if err != nil {
				return nil, err
			}
			paths, _, err := in.Repos.ListPaths(ctx, proj.ID, sha, max)
			return paths, err
		},
		ProjectTags: func(path string) ([]string, error) {
			proj, err := project(path)
			if err != nil {
				return nil, err
			}
			return in.Repos.Tags(ctx, proj.ID)
		},
	}
	if in.Remote != nil {
		// All include:remote files of one pipeline share one budget, as
		// GitLab's external include context does: 150 slow hosts must
		// not hold a push for 150 timeouts.
		total := in.RemoteTotal
		if total <= 0 {
			total = ciconfig.RemoteTotalTimeout
		}
		deadline := time.Now().Add(total)
		src.Remote = func(url string) ([]byte, error) {
			rctx, cancel := context.WithDeadline(ctx, deadline)
			defer cancel()
			data, err := in.Remote.Fetch(rctx, url)
			if err != nil && !time.Now().Before(deadline) {
				return nil, fmt.Errorf("the pipeline's include:remote files took longer than %s in all", total)
			}
			return data, err
		}
	}
	return src
}
