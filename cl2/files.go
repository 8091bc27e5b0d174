package cl2

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hollowmark/hollowmark/scenarios"
)

// readFile reads a regular file of at most scenarios.MaxFileSize, as our
// scenario files are read: a FIFO would block and a device never end.
func readFile(fsys fs.FS, name string) ([]byte, error) {
	info, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", name)
	}
	if info.Size() > scenarios.MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d a config, module or template may have", name, info.Size(), scenarios.MaxFileSize)
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, scenarios.MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > scenarios.MaxFileSize {
		return nil, fmt.Errorf("%s: more than the %d bytes a config, module or template may have", name, scenarios.MaxFileSize)
	}
	return data, nil
}

// readPath reads a file by its path on disk, bounded as readFile.
func readPath(path string) ([]byte, error) {
	return readFile(dirFS(filepath.Dir(path)), filepath.Base(path))
}

// readable says whether path is a regular file readFile would read.
func readable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Size() <= scenarios.MaxFileSize
}
