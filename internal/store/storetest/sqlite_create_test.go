package storetest

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/batonci/baton/internal/store/storeopen"
)

// TestSQLiteConcurrentCreate: processes creating one new SQLite database
// at once all open it (switching it to WAL briefly locks it without the
// busy handler; Open waits that out instead of failing).
func TestSQLiteConcurrentCreate(t *testing.T) {
	for r := 0; r < 10; r++ {
		url := "sqlite:" + filepath.Join(t.TempDir(), fmt.Sprint(r, ".db"))
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := storeopen.Open(context.Background(), url)
				if err != nil {
					t.Errorf("open: %v", err)
					return
				}
				db.Close()
			}()
		}
		wg.Wait()
	}
}
