package runner

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// errUnsafeEntry is returned for archive entries that would escape the project dir.
var errUnsafeEntry = errors.New("unsafe archive entry")

// extractZip extracts the zip file at archive into dir. Entry names with
// "..", absolute names or NUL bytes are refused before anything is written;
// symlinks are created only when their target stays inside dir; nothing is
// ever written through a symlink (an entry whose parent is a symlink is
// refused, an existing symlink at an entry's own path is replaced). All
// writes go through an os.Root, so even a race cannot leave dir.
//
// An archive whose entries share bytes (the overlapping zip bomb), or whose
// regular files declare more than limit bytes in total, is refused before
// anything is written; limit also bounds the bytes actually written
// (negative: no limit).
func extractZip(archive, dir string, limit int64) error {
	zr, err := zip.OpenReader(archive)
	if err != nil {
		return fmt.Errorf("opening archive: %w", err)
	}
	defer zr.Close()
	var declared uint64
	for _, f := range zr.File {
		if _, err := entryName(f.Name); err != nil {
			return err
		}
		if f.Mode().IsRegular() {
			declared += f.UncompressedSize64
		}
	}
	if limit >= 0 && declared > uint64(limit) {
		return fmt.Errorf("%w: its files declare %d bytes, more than the %d bytes allowed (--max-extract-size)", errTooLarge, declared, limit)
	}
	if err := checkOverlaps(zr.File); err != nil {
		return err
	}
	left := limit
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("opening project dir: %w", err)
	}
	defer root.Close()
	for _, f := range zr.File {
		name, _ := entryName(f.Name)
		if name == "." {
			continue
		}
		if err := checkParents(root, name); err != nil {
			return err
		}
		if err := extractEntry(root, f, name, &left); err != nil {
			return fmt.Errorf("extracting %q: %w", f.Name, err)
		}
	}
	return nil
}

// errTooLarge is returned for archives that extract to more than the limit.
var errTooLarge = errors.New("artifacts archive too large to extract")

// checkOverlaps refuses archives in which two entries' data share bytes:
// a zip needs that only to inflate the same bytes many times.
func checkOverlaps(files []*zip.File) error {
	type span struct {
		start, end uint64
		name       string
	}
	var spans []span
	for _, f := range files {
		if f.CompressedSize64 == 0 {
			continue
		}
		off, err := f.DataOffset()
		if err != nil {
			return fmt.Errorf("reading local header of %q: %w", f.Name, err)
		}
		spans = append(spans, span{uint64(off), uint64(off) + f.CompressedSize64, f.Name})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	for i := 1; i < len(spans); i++ {
		if spans[i].start < spans[i-1].end {
			return fmt.Errorf("%w: entries %q and %q share bytes (refused as a zip bomb)", errUnsafeEntry, spans[i-1].name, spans[i].name)
		}
		if spans[i].end < spans[i-1].end {
			spans[i].end, spans[i].name = spans[i-1].end, spans[i-1].name
		}
	}
	return nil
}

// entryName validates a zip entry name and returns it as a clean local path.
func entryName(raw string) (string, error) {
	if strings.ContainsRune(raw, 0) {
		return "", fmt.Errorf("%w: %q contains a NUL byte", errUnsafeEntry, raw)
	}
	s := strings.ReplaceAll(raw, "\\", "/")
	if strings.HasPrefix(s, "/") || (len(s) > 1 && s[1] == ':') {
		return "", fmt.Errorf("%w: %q is absolute", errUnsafeEntry, raw)
	}
	for _, part := range strings.Split(s, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: %q contains ..", errUnsafeEntry, raw)
		}
	}
	clean := path.Clean(s)
	if clean == "." {
		return ".", nil
	}
	if !filepath.IsLocal(filepath.FromSlash(clean)) {
		return "", fmt.Errorf("%w: %q is not a local path", errUnsafeEntry, raw)
	}
	return filepath.FromSlash(clean), nil
}

// checkParents refuses name when one of its parent directories is a symlink,
// and creates the missing ones.
func checkParents(root *os.Root, name string) error {
	dir := filepath.Dir(name)
	if dir == "." {
		return nil
	}
	parts := strings.Split(dir, string(filepath.Separator))
	for i := range parts {
		p := filepath.Join(parts[:i+1]...)
		fi, err := root.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := root.Mkdir(p, 0o755); err != nil {
				return fmt.Errorf("creating %s: %w", p, err)
			}
		case err != nil:
			return fmt.Errorf("inspecting %s: %w", p, err)
		case fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%w: %q: parent %q is a symlink", errUnsafeEntry, name, p)
		case !fi.IsDir():
			return fmt.Errorf("%w: %q: parent %q is not a directory", errUnsafeEntry, name, p)
		}
	}
	return nil
}

func extractEntry(root *os.Root, f *zip.File, name string, left *int64) error {
	mode := f.Mode()
	existing, err := root.Lstat(name)
	exists := err == nil
	switch {
	case mode.IsDir():
		if exists && existing.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%w: directory %q is a symlink", errUnsafeEntry, name)
		}
		if !exists {
			if err := root.Mkdir(name, 0o755); err != nil {
				return err
			}
		}
		return root.Chmod(name, mode.Perm()|0o700)
	case mode&fs.ModeSymlink != 0:
		target, err := readSmall(f, 4096)
		if err != nil {
			return err
		}
		t := path.Clean(strings.ReplaceAll(target, "\\", "/"))
		if strings.ContainsRune(t, 0) || path.IsAbs(t) || !filepath.IsLocal(filepath.Join(filepath.Dir(name), filepath.FromSlash(t))) {
			return fmt.Errorf("%w: symlink %q points outside (%q)", errUnsafeEntry, name, target)
		}
		if err := removeNonDir(root, name, existing, exists); err != nil {
			return err
		}
		return root.Symlink(filepath.FromSlash(t), name)
	case mode.IsRegular():
		if err := removeNonDir(root, name, existing, exists); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		src := io.Reader(rc)
		if *left >= 0 {
			src = io.LimitReader(rc, *left+1)
		}
		n, err := io.Copy(out, src)
		if err == nil && *left >= 0 {
			if *left -= n; *left < 0 {
				err = fmt.Errorf("%w: more than the bytes allowed (--max-extract-size) written", errTooLarge)
			}
		}
		if err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
		return root.Chmod(name, mode.Perm())
	default:
		return nil // devices, pipes: never created from an archive
	}
}

// removeNonDir clears the way for a file or symlink entry; a directory in its place is an error.
func removeNonDir(root *os.Root, name string, existing fs.FileInfo, exists bool) error {
	if !exists {
		return nil
	}
	if existing.IsDir() {
		return fmt.Errorf("a directory exists at %q", name)
	}
	return root.Remove(name)
}

func readSmall(f *zip.File, limit int64) (string, error) {
	rc, err := f.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit))
	return string(b), err
}
