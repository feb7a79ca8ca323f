package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/batonci/baton/bench/internal/benchkit"
)

// results is everything one run measured; a nil field is a measurement
// that was skipped (its baseline tool is missing).
type results struct {
	LoadStart, LoadEnd string
	CPUs               int

	Download      downloadResult
	NginxDownload *downloadResult
	NginxMissing  string // why the nginx baseline is absent
	Sendfile      string // what strace saw during a download, when asked
	UploadTrace   string // what strace saw during an upload, when asked

	Upload   uploadResult
	DD       ddResult
	Entries  map[string]readStats // by target: "many", "few", "health"
	Indexes  map[string]int64     // stored index sizes, by archive label
	Unzip    *unzipResult
	UnzipMsg string
	Merged   *mergedResult // nil when skipped (-merge-size 0)

	ManyEntries, FewEntries int
}

// run performs the whole benchmark in a fresh temp dir (removed at the end),
// logging progress to progress. It returns what it measured so far even
// when it fails.
func run(ctx context.Context, cfg config, progress io.Writer) (*results, error) {
	res := &results{LoadStart: loadavg(), CPUs: numCPU(), Entries: map[string]readStats{}, Indexes: map[string]int64{}}
	tmp, err := os.MkdirTemp(cfg.TempParent, "baton-bench-")
	if err != nil {
		return nil, fmt.Errorf("creating temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := checkRoom(tmp, cfg); err != nil {
		return nil, err
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(progress, "# "+format+"\n", args...)
	}
	logf("temp dir %s, load %s", tmp, res.LoadStart)

	bin := cfg.Baton
	if bin == "" {
		logf("building baton")
		if bin, err = benchkit.BuildBaton(ctx, tmp); err != nil {
			return nil, err
		}
	}
	logf("building archives: %s large, %d and 10 entries", human(cfg.Size), cfg.Entries)
	big, err := writeLargeZip(filepath.Join(tmp, "large.zip"), cfg.Size)
	if err != nil {
		return nil, err
	}
	many, err := writeEntriesZip(filepath.Join(tmp, "many.zip"), cfg.Entries)
	if err != nil {
		return nil, err
	}
	few, err := writeEntriesZip(filepath.Join(tmp, "few.zip"), 10)
	if err != nil {
		return nil, err
	}
	res.ManyEntries, res.FewEntries = many.Entries, few.Entries

	srv, err := startServer(ctx, bin, tmp, max(big.Size, many.Size, cfg.MergeSize))
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	fail := func(err error) (*results, error) {
		res.LoadEnd = loadavg()
		return res, fmt.Errorf("%w\n--- last lines of the server log ---\n%s", err, srv.logTail())
	}
	logf("baton pid %d at %s", srv.cmd.Process.Pid, srv.url)
	var extra []string
	if cfg.Strace {
		extra = append(extra, "strace-upload")
	}
	var parallel []string
	if cfg.MergeSize > 0 {
		parallel, extra = append(parallel, mergeJob), append(extra, wholeJob)
	}
	jobs, err := setupJobs(ctx, srv, tmp, cfg.Rounds, parallel, extra...)
	if err != nil {
		return fail(err)
	}

	logf("upload: %d rounds of %s (and dd)", cfg.Rounds, human(big.Size))
	if res.Upload, res.DD, err = benchUpload(ctx, srv, jobs, big, cfg.Rounds, tmp); err != nil {
		return fail(err)
	}
	for _, name := range []string{"many", "few"} {
		zf := map[string]*zipFile{"many": many, "few": few}[name]
		if err := uploadZip(ctx, srv, jobs[name], zf); err != nil {
			return fail(fmt.Errorf("uploading the %s-entries archive: %w", name, err))
		}
	}
	if cfg.MergeSize > 0 {
		logf("merged download: 3 shards of %s", human(cfg.MergeSize/3))
		if err := prepareMerged(ctx, srv, jobs, tmp, cfg.MergeSize); err != nil {
			return fail(err)
		}
	}
	if cfg.Strace {
		res.UploadTrace = straceDuring(ctx, srv.cmd.Process.Pid, func() error { return uploadZip(ctx, srv, jobs["strace-upload"], big) })
	}
	for _, j := range jobs {
		if err := srv.finishJob(ctx, j); err != nil {
			return fail(err)
		}
	}

	logf("download: %d rounds each", cfg.Rounds)
	blobPath, err := findBlob(filepath.Join(tmp, "data"), big.Size)
	if err != nil {
		return fail(err)
	}
	var ng *nginx
	if ng, res.NginxMissing = startNginx(ctx, cfg.Nginx, tmp, blobPath); ng != nil {
		defer ng.stop()
	}
	if res.NginxMissing != "" {
		logf("nginx baseline skipped: %s", res.NginxMissing)
	}
	dl, ndl, err := benchDownload(ctx, srv, ng, jobs[uploadJob(0)], big.Size, cfg.Rounds)
	if err != nil {
		return fail(err)
	}
	res.Download, res.NginxDownload = dl, ndl
	if cfg.Strace {
		res.Sendfile = straceDownload(ctx, srv, jobs[uploadJob(0)], big.Size)
	}

	if cfg.MergeSize > 0 {
		logf("merged download: %d rounds each", cfg.Rounds)
		if res.Merged, err = benchMerged(ctx, srv, jobs, cfg.Rounds); err != nil {
			return fail(err)
		}
	}

	logf("one-file reads: %d requests on each archive", cfg.Requests)
	for _, name := range []string{"many", "few"} {
		if res.Indexes[name], err = indexSize(filepath.Join(tmp, "data"), jobs[name]); err != nil {
			return fail(err)
		}
	}
	if res.Entries, err = benchEntries(ctx, srv, map[string]readTarget{
		"many": entryTarget(jobs["many"], many), "few": entryTarget(jobs["few"], few), "health": healthTarget,
		"user": apiTarget("/api/v4/user"),
		"job":  apiTarget(fmt.Sprintf("/api/v4/projects/%d/jobs/%d", jobs["few"].ProjectID, jobs["few"].ID)),
	}, cfg.Requests); err != nil {
		return fail(err)
	}
	if res.Unzip, res.UnzipMsg, err = benchUnzip(ctx, cfg.Unzip, many, cfg.UnzipRuns); err != nil {
		return fail(err)
	}
	res.LoadEnd = loadavg()
	return res, nil
}

// checkRoom fails early when the temp dir's file system cannot hold the
// archives, the uploaded copies and a dd copy.
func checkRoom(dir string, cfg config) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("checking free space of %s: %w", dir, err)
	}
	free := int64(st.Bavail) * st.Bsize
	need := cfg.Size*int64(cfg.Rounds+2) + 2*int64(cfg.Entries)*(entrySize+200) + 4*cfg.MergeSize + 256<<20
	if free < need {
		return fmt.Errorf("%s has %s free, this run needs about %s (lower -size or -rounds, or use -tmp)", dir, human(free), human(need))
	}
	return nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func human(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
