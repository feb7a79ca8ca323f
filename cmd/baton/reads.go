package main

import (
	"github.com/batonci/baton/internal/gitserve"
)

// RepoReads bounds what the repository read API (branches, commits, trees,
// files, compare) reads from git for one request.
type RepoReads struct {
	MaxBlobMiB        int64 // largest file /repository/files serves
	MaxTreeEntries    int64 // entries one tree listing reads (and counts)
	MaxCompareCommits int64 // commits one comparison lists
	MaxDiffKiB        int64 // patch text one comparison reads
}

func (c *Config) bindRepoReads(b flagBinder) {
	v := &c.RepoReads
	b.integer(&v.MaxBlobMiB, "max-blob-size", "BATON_MAX_BLOB_SIZE", gitserve.DefaultMaxBlobSize>>20,
		"largest repository file the files API serves, in MiB; larger: 413")
	b.integer(&v.MaxTreeEntries, "max-tree-entries", "BATON_MAX_TREE_ENTRIES", gitserve.DefaultMaxTreeEntries,
		"most entries one repository tree listing reads; beyond, pages still work but X-Total is left out")
	b.integer(&v.MaxCompareCommits, "max-compare-commits", "BATON_MAX_COMPARE_COMMITS", gitserve.DefaultMaxCompareCommits,
		"most commits one compare lists (the newest)")
	b.integer(&v.MaxDiffKiB, "max-compare-diff", "BATON_MAX_COMPARE_DIFF", gitserve.DefaultMaxDiffBytes>>10,
		"most KiB of patch text one compare returns; later files come back too_large")
}

// apply sets the bounds on repos.
func (b RepoReads) apply(repos *gitserve.Repos) {
	repos.MaxBlobSize = b.MaxBlobMiB << 20
	repos.MaxTreeEntries = int(b.MaxTreeEntries)
	repos.MaxCompareCommits = int(b.MaxCompareCommits)
	repos.MaxDiffBytes = b.MaxDiffKiB << 10
}
