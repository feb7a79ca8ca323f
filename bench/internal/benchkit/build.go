package benchkit

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
)

// BuildBaton builds ./cmd/baton of this module into dir and returns the
// binary's path.
func BuildBaton(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "baton")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/batonci/baton/cmd/baton")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building baton: %w\n%s", err, out)
	}
	return bin, nil
}
