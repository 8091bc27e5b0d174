package results

import "github.com/hollowmark/hollowmark/internal/atomicfile"

// WriteFile writes a results file whole or not at all (see atomicfile).
// Results are read by people and other tools, so they are not private as
// the credentials in the run directory are.
func WriteFile(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, 0o644)
}
