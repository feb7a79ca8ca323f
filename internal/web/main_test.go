package web

import (
	"testing"

	"github.com/batonci/baton/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }
