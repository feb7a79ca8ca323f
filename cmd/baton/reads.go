package main

import (
	"flag"

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

func (c *Config) bindRepoReads(_ *flag.FlagSet, integer func(p *int64, name, env string, def int64, usage string)) {
	b := &c.RepoReads
	integer(&b.MaxBlobMiB, "max-blob-size", "BATON_MAX_BLOB_SIZE", gitserve.DefaultMaxBlobSize>>20,
		"largest repository file the files API serves, in MiB; larger: 413")
	integer(&b.MaxTreeEntries, "max-tree-entries", "BATON_MAX_TREE_ENTRIES", gitserve.DefaultMaxTreeEntries,
		"most entries one repository tree listing reads; beyond, pages still work but X-Total is left out")
	integer(&b.MaxCompareCommits, "max-compare-commits", "BATON_MAX_COMPARE_COMMITS", gitserve.DefaultMaxCompareCommits,
		"most commits one compare lists (the newest)")
	integer(&b.MaxDiffKiB, "max-compare-diff", "BATON_MAX_COMPARE_DIFF", gitserve.DefaultMaxDiffBytes>>10,
		"most KiB of patch text one compare returns; later files come back too_large")
}

// apply sets the bounds on repos.
func (b RepoReads) apply(repos *gitserve.Repos) {
	repos.MaxBlobSize = b.MaxBlobMiB << 20
	repos.MaxTreeEntries = int(b.MaxTreeEntries)
	repos.MaxCompareCommits = int(b.MaxCompareCommits)
	repos.MaxDiffBytes = b.MaxDiffKiB << 10
}
