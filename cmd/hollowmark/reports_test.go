package main

import (
	"html"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hollowmark/hollowmark/report"
	"github.com/hollowmark/hollowmark/results"
)

// densityRun runs the small density scenario with a container start
// latency and returns its results directory.
func densityRun(t *testing.T, startLatency, out string) string {
	t.Helper()
	code, stdout, stderr := hollowmark(t, append(slices.Clone(smallDensity), "--nodes", "5", "--start-latency", startLatency,
		"--run-dir", t.TempDir(), "--out", out)...)
	if code != results.ExitPassed {
		t.Fatalf("run with start latency %s: exit %d\nstdout:\n%s\nstderr:\n%s", startLatency, code, stdout, stderr)
	}
	if !strings.Contains(stdout, "report: "+filepath.Join(out, report.File)) {
		t.Errorf("run did not write its report:\n%s", stdout)
	}
	return out
}

// Three runs: two alike with a 50ms container start, one with 1s. They feed
// the report, compare and history checks.
func TestReportsCompareAndHistoryOfRealRuns(t *testing.T) {
	nightly := t.TempDir()
	base := densityRun(t, "50ms", filepath.Join(nightly, "1-base"))
	same := densityRun(t, "50ms", filepath.Join(nightly, "2-same"))
	slow := densityRun(t, "1s", filepath.Join(nightly, "3-slow"))

	t.Run("report lists every check and renders", func(t *testing.T) { checkReport(t, base) })
	t.Run("compare finds the regression", func(t *testing.T) {
		code, stdout, stderr := hollowmark(t, "compare", base, slow, "--out", filepath.Join(t.TempDir(), "cmp"))
		if code != results.ExitViolated {
			t.Fatalf("compare exit %d, want 1\n%s\n%s", code, stdout, stderr)
		}
		if !regexp.MustCompile(`(?m)^\| pod startup \| (\*\*)?pod_startup p50(\*\*)? \|.*\*\*regression\*\*`).MatchString(stdout) {
			t.Errorf("pod_startup p50 not reported as a regression:\n%s", stdout)
		}
	})
	t.Run("compare of alike runs is within noise", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "cmp")
		code, stdout, stderr := hollowmark(t, "compare", base, same, "--out", dir)
		if code != results.ExitPassed {
			t.Fatalf("compare exit %d, want 0\n%s\n%s", code, stdout, stderr)
		}
		for _, f := range []string{report.ComparisonFile, report.ComparisonMarkdownFile, "pod_startup_cdf.png"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("comparison lacks %s: %v", f, err)
			}
		}
	})
	t.Run("history over three runs", func(t *testing.T) {
		code, stdout, stderr := hollowmark(t, "history", nightly)
		if code != 0 {
			t.Fatalf("history exit %d\n%s\n%s", code, stdout, stderr)
		}
		rows := 0
		for _, line := range strings.Split(stdout, "\n") {
			if regexp.MustCompile(`^\| [123] \| density-`).MatchString(line) {
				rows++
			}
		}
		if rows != 3 || !strings.Contains(stdout, "3 runs, 0 of them violated") {
			t.Errorf("history table has %d runs:\n%s", rows, stdout)
		}
		decodePNG(t, filepath.Join(nightly, "history_pod_startup.png"))
	})
}

// checkReport finds every SLO check of the run in report.html and, when
// Chromium is there, renders the page and checks every plot was shown.
func checkReport(t *testing.T, dir string) {
	t.Helper()
	page, err := os.ReadFile(filepath.Join(dir, report.File))
	if err != nil {
		t.Fatal(err)
	}
	run, err := results.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Checks()) < 2 {
		t.Fatalf("run made %d checks", len(run.Checks()))
	}
	for _, c := range run.Checks() {
		if !strings.Contains(string(page), "<td>"+html.EscapeString(c.SLO)+"</td><td>"+html.EscapeString(c.Limit())+"</td>") {
			t.Errorf("report.html lacks the check %q", c.SLO)
		}
	}
	images := regexp.MustCompile(`<img src="([^"]+)"`).FindAllStringSubmatch(string(page), -1)
	if len(images) < 6 {
		t.Errorf("report shows %d plots, want at least 6", len(images))
	}
	for _, img := range images {
		decodePNG(t, filepath.Join(dir, img[1]))
	}
	renderInChromium(t, dir, len(images))
}

func decodePNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 200 {
		t.Errorf("%s is only %dx%d", path, b.Dx(), b.Dy())
	}
}

func renderInChromium(t *testing.T, dir string, plots int) {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is needed in CI to render the report (make test installs it as root)")
		}
		t.Skip("chromium not installed: the report is not rendered")
	}
	page := "file://" + filepath.Join(dir, report.File)
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files", "--virtual-time-budget=5000"}
	dom, err := exec.Command(chromium, append(flags, "--dump-dom", page)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	attr := func(name string) int {
		m := regexp.MustCompile(name + `="(\d+)"`).FindSubmatch(dom)
		if m == nil {
			t.Fatalf("the rendered page has no %s: its script did not run", name)
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	if total, shown := attr("data-plots"), attr("data-plots-shown"); total != plots || shown != plots {
		t.Errorf("Chromium showed %d of %d plots, want all %d", shown, total, plots)
	}
	shot := filepath.Join(t.TempDir(), "report.png")
	out, err := exec.Command(chromium, append(flags, "--window-size=1200,5000", "--screenshot="+shot, page)...).CombinedOutput()
	if err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	decodePNG(t, shot)
}
