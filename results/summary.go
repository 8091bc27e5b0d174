package results

// Summary is what one measurement found.
type Summary struct {
	Checks   []Check
	PerfData PerfData
	// Tables are raw rows (a header first) to write as CSV, by file name,
	// so that every reported figure can be recomputed.
	Tables map[string][][]string
	// Definitions are the settings that change what the figures mean
	// (e.g. which clock pod startup is read from), by name.
	Definitions map[string]string
	// Notes are sentences a reader of the figures needs: how they are
	// defined, and why a column or a row is empty.
	Notes []string
}
