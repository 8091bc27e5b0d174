package scenarios

import (
	"embed"
	"io/fs"
	"path"
	"slices"
	"strings"
)

//go:embed builtin
var builtin embed.FS

// Builtin is the file system of the scenarios shipped in the binary.
func Builtin() fs.FS {
	sub, err := fs.Sub(builtin, "builtin")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// List names the built-in scenarios.
func List() []string {
	entries, err := fs.ReadDir(Builtin(), ".")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && path.Ext(e.Name()) == ".yaml" {
			names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
		}
	}
	slices.Sort(names)
	return names
}
