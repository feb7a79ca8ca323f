//go:build pprof

package main

// Built only with -tags pprof (for benchmarks, never in a release): when
// BATON_PPROF is set, every process of this binary serves net/http/pprof on
// a free loopback port and prints the address on stderr, so a benchmark can
// profile a replica while it is under load.

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
)

func init() {
	if os.Getenv("BATON_PPROF") == "" {
		return
	}
	runtime.SetBlockProfileRate(int(100 * 1000)) // blocking events of 100 µs and more
	runtime.SetMutexProfileFraction(10)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pprof:", err)
		return
	}
	fmt.Fprintf(os.Stderr, "pprof listening on http://%s/debug/pprof/\n", ln.Addr())
	go func() { _ = http.Serve(ln, nil) }()
}
