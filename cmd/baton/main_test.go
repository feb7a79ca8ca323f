package main

import (
	"testing"

	"github.com/batonci/baton/internal/testpg"
)

// TestMain stops the throwaway PostgreSQL cluster the tests started.
func TestMain(m *testing.M) { testpg.Main(m) }
