package main

import (
	"fmt"
	"os"
	"testing"
)

// programTB lets a program call helpers written for tests (storetest.Seed,
// testpg.URL). Fatal and Skip panic with a tbStop that run recovers; Cleanup
// functions run, newest first, when cleanup is called. Methods the helpers
// do not use are left to the embedded nil testing.TB and would panic.
type programTB struct {
	testing.TB
	cleanups []func()
	verbose  bool
}

// tbStop is what a Fatal or Skip of a programTB panics with.
type tbStop struct{ msg string }

func (s tbStop) Error() string { return s.msg }

func (p *programTB) Helper()                    {}
func (p *programTB) Name() string               { return "bench-lookup" }
func (p *programTB) Cleanup(f func())           { p.cleanups = append(p.cleanups, f) }
func (p *programTB) Failed() bool               { return false }
func (p *programTB) Log(args ...any)            { p.logf("%s", fmt.Sprint(args...)) }
func (p *programTB) Logf(f string, args ...any) { p.logf(f, args...) }
func (p *programTB) Error(args ...any)          { fmt.Fprintln(os.Stderr, args...) }
func (p *programTB) Errorf(f string, args ...any) {
	fmt.Fprintf(os.Stderr, f+"\n", args...)
}
func (p *programTB) Fatal(args ...any)            { panic(tbStop{fmt.Sprint(args...)}) }
func (p *programTB) Fatalf(f string, args ...any) { panic(tbStop{fmt.Sprintf(f, args...)}) }
func (p *programTB) FailNow()                     { panic(tbStop{"failed"}) }
func (p *programTB) Skip(args ...any)             { panic(tbStop{"skipped: " + fmt.Sprint(args...)}) }
func (p *programTB) Skipf(f string, args ...any) {
	panic(tbStop{"skipped: " + fmt.Sprintf(f, args...)})
}
func (p *programTB) SkipNow() { panic(tbStop{"skipped"}) }

func (p *programTB) logf(f string, args ...any) {
	if p.verbose {
		fmt.Fprintf(os.Stderr, f+"\n", args...)
	}
}

// cleanup runs the registered cleanups, newest first.
func (p *programTB) cleanup() {
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		p.cleanups[i]()
	}
	p.cleanups = nil
}

// guard runs fn, turning a tbStop panic into an error.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s, ok := r.(tbStop)
			if !ok {
				panic(r)
			}
			err = s
		}
	}()
	return fn()
}
