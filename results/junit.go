package results

import (
	"encoding/xml"
	"fmt"
	"time"
)

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes one test case per SLO check to path, as CI systems
// read JUnit XML: a violated SLO is a failed test case, a check not made
// (an unsupported measurement) a skipped one.
func WriteJUnit(path, suite string, checks []Check, took time.Duration) error {
	s := junitSuite{Name: suite, Tests: len(checks), Time: seconds(took)}
	for _, c := range checks {
		tc := junitCase{ClassName: "hollowmark.slo", Name: fmt.Sprintf("%s: %s", c.Name(), c.Limit()), Time: "0", SystemOut: c.Verdict()}
		if c.Partial {
			tc.SystemOut += " (partial run)"
		}
		switch {
		case c.Skipped != "":
			s.Skipped++
			tc.Name = c.Name()
			tc.Skipped = &junitSkipped{Message: c.Skipped}
		case c.Violated() && c.NotEnforced != "":
			// Reported as the verdict line; the test case passes, as
			// the run does.
		case !c.Passed():
			s.Failures++
			tc.Failure = &junitFailure{Message: c.Verdict(), Type: "SLOViolation", Text: c.Verdict()}
		}
		s.Cases = append(s.Cases, tc)
	}
	data, err := xml.MarshalIndent(junitSuites{Suites: []junitSuite{s}}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return WriteFile(path, append([]byte(xml.Header), append(data, '\n')...))
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
