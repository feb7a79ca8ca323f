// Command indexrss measures the memory of indexing an uploaded artifact
// archive (archive.BuildLimited and WriteTo, as the runner API does on
// upload): the worst case at the default entry limit, 200,000 tiny files,
// against a 10-entry archive as baseline. Each case runs in a fresh child
// process, so that its peak RSS (VmHWM) is its own; the peak Go heap is
// sampled every millisecond.
//
//	go run ./bench/indexrss [-entries 10,200000]
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batonci/baton/internal/archive"
	"github.com/batonci/baton/internal/archive/ziptest"
)

type result struct {
	Entries              int
	ZipBytes, IndexBytes int64
	HeapPeak, HeapBase   uint64 // HeapInuse
	RSSStart, RSSPeak    int64  // kB: VmRSS before indexing, VmHWM after
	Seconds              float64
}

func main() {
	child := flag.String("child", "", "internal: index this zip and print the result")
	entries := flag.String("entries", "10,200000", "comma-separated entry counts")
	flag.Parse()
	if *child != "" {
		if err := measure(*child); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if err := run(*entries); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(list string) error {
	dir, err := os.MkdirTemp("", "indexrss-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var results []result
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("-entries: %w", err)
		}
		path := filepath.Join(dir, fmt.Sprintf("%d.zip", n))
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		_, err = ziptest.WriteMany(f, n, func(i int) string {
			return fmt.Sprintf("build/out%d/pkg%d/file-%07d.txt", i%10, i%97, i)
		}, []byte("x"))
		f.Close()
		if err != nil {
			return err
		}
		out, err := exec.Command(self, "-child", path).Output()
		if err != nil {
			return fmt.Errorf("measuring %d entries: %w", n, err)
		}
		var r result
		if err := json.Unmarshal(out, &r); err != nil {
			return err
		}
		r.Entries = n
		results = append(results, r)
		os.Remove(path)
	}
	mib := func(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
	fmt.Printf("%-9s %-10s %-10s %-16s %-14s %-14s %-12s %s\n", "entries", "zip", "index", "peak heap (Δ)", "RSS before", "peak RSS", "RSS Δ", "time")
	for _, r := range results {
		fmt.Printf("%-9d %-10s %-10s %-16s %-14s %-14s %-12s %.2fs\n", r.Entries, mib(float64(r.ZipBytes)), mib(float64(r.IndexBytes)),
			mib(float64(r.HeapPeak-r.HeapBase)), mib(float64(r.RSSStart<<10)), mib(float64(r.RSSPeak<<10)),
			mib(float64((r.RSSPeak-r.RSSStart)<<10)), r.Seconds)
	}
	if len(results) > 1 {
		b, w := results[0], results[len(results)-1]
		fmt.Printf("\n%d vs %d entries: peak RSS %+.1f MiB, peak heap %+.1f MiB\n", w.Entries, b.Entries,
			float64((w.RSSPeak-b.RSSPeak)<<10)/(1<<20), (float64(w.HeapPeak-w.HeapBase)-float64(b.HeapPeak-b.HeapBase))/(1<<20))
	}
	return nil
}

// measure indexes the zip at path into a temporary file, as an upload does.
func measure(path string) error {
	zf, err := os.Open(path)
	if err != nil {
		return err
	}
	defer zf.Close()
	fi, err := zf.Stat()
	if err != nil {
		return err
	}
	out, err := os.CreateTemp("", "indexrss-index-*")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	r := result{ZipBytes: fi.Size(), RSSStart: procStatus("VmRSS")}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.HeapBase, r.HeapPeak = ms.HeapInuse, ms.HeapInuse
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			r.HeapPeak = max(r.HeapPeak, m.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	start := time.Now()
	x, err := archive.BuildLimited(zf, fi.Size(), archive.Limits{MaxEntries: -1})
	if err == nil {
		bw := bufio.NewWriter(out)
		r.IndexBytes, err = x.WriteTo(bw)
		if err == nil {
			err = bw.Flush()
		}
		x.Close()
	}
	r.Seconds = time.Since(start).Seconds()
	close(stop)
	wg.Wait()
	if err != nil {
		return err
	}
	r.RSSPeak = procStatus("VmHWM")
	return json.NewEncoder(os.Stdout).Encode(r)
}

// procStatus reads a kB field of /proc/self/status (0 where there is none).
func procStatus(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
