package results

// Summary is what one measurement found.
type Summary struct {
	Checks   []Check
	PerfData PerfData
	// Tables are raw rows (a header first) to write as CSV, by file name,
	// so that every reported figure can be recomputed.
	Tables map[string][][]string
}
