package main

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
)

// TestOpenBuildsEverything: after Open, before Serve, every component of
// Main is built (none is created later, when serving starts).
func TestOpenBuildsEverything(t *testing.T) {
	dir := t.TempDir()
	m := &Main{Logger: testLogger(t)}
	m.Config.bind(flagSetForTest())
	m.Config.DataDir, m.Config.DatabaseURL = dir, "sqlite:"+filepath.Join(dir, "baton.db")
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	v := reflect.ValueOf(m).Elem()
	checked := 0
	for i := range v.NumField() {
		f, field := v.Field(i), v.Type().Field(i)
		if !field.IsExported() || (f.Kind() != reflect.Pointer && f.Kind() != reflect.Interface) {
			continue
		}
		checked++
		if f.IsNil() {
			t.Errorf("Main.%s is nil after Open", field.Name)
		}
	}
	if checked < 10 {
		t.Errorf("checked %d components, want every one of Main's", checked)
	}
}
