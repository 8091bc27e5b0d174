package results

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
)

// WriteCSV writes rows (a header first) to path, whole or not at all.
func WriteCSV(path string, rows [][]string) error {
	var b bytes.Buffer
	if err := csv.NewWriter(&b).WriteAll(rows); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return WriteFile(path, b.Bytes())
}

// ReadCSV reads the rows of a CSV file, its header first.
func ReadCSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return rows, nil
}
