package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
)

// configMap is a good object template.
const configMap = "apiVersion: v1\nkind: ConfigMap\ndata: {index: \"{{.Index}}\"}\n"

// badInput is one kind of file the bad-input sweep (issue 12) tried: the
// scenario (good with one edit), the object template, or a set-up of
// special files in the scenario's directory, and the error expected.
type badInput struct {
	name     string
	scenario string
	template string                         // obj.yaml, configMap if empty
	setup    func(t *testing.T, dir string) // after the files are written
	want     string                         // with the file:line: field: prefix
}

func edit(old, new string) string { return strings.Replace(good, old, new, 1) }

var badInputs = []badInput{
	// Reading.
	{name: "empty file", scenario: " ", want: "s.yaml:1: the scenario is empty"},
	{name: "larger than 1 MiB", scenario: good + "#" + strings.Repeat("x", MaxFileSize), want: "s.yaml:1: 1049092 bytes, more than the 1048576"},
	{name: "binary garbage", scenario: "\x00\x01\x02\xff\xfe", want: "s.yaml:1: "},
	{name: "a list, not a mapping", scenario: "- name: x\n", want: "s.yaml:1: cannot unmarshal !!seq"},
	{name: "two YAML documents", scenario: good + "---\nname: other\n", want: "s.yaml:26: a second YAML document: a scenario file holds one"},
	{name: "unknown field", scenario: edit("namespaces:", "namespace:\n  count: 2\nnamespaces:"), want: "s.yaml:4: field namespace not found"},
	{name: "wrong type", scenario: edit("count: 2", "count: many"), want: "s.yaml:5: cannot unmarshal !!str `many` into int"},
	// Templates in the scenario file.
	{name: "unclosed if", scenario: edit("name: tiny", "name: tiny\n# {{if .replicas}}"), want: "s.yaml:27: unexpected EOF"},
	{name: "unknown function", scenario: edit("{{.replicas}}", "{{Twice .replicas}}"), want: `s.yaml:13: function "Twice" not defined`},
	{name: "missing parameter", scenario: edit("{{.replicas}}", "{{.replica}}"), want: `s.yaml:13: executing "s.yaml" at <.replica>: map has no entry for key "replica"`},
	{name: "division by zero", scenario: edit("{{.replicas}}", "{{DivideInt .replicas 0}}"), want: "DivideInt by zero"},
	{name: "range over a huge count", scenario: edit("name: tiny", "name: tiny\n# {{range 100000000000}}{{end}}"), want: "s.yaml:2: a range: "},
	{name: "range making a huge file", scenario: edit("name: tiny", "name: tiny\n# {{range 1000000}}"+strings.Repeat("x", 1000)+"{{end}}"), want: "s.yaml:1: the rendered text is longer than 4194304 bytes"},
	{name: "a string doubled", scenario: edit("name: tiny", "name: tiny\n# {{$s := \"xx\"}}{{range 40}}{{$s = printf \"%s%s\" $s $s}}{{end}}"), want: "s.yaml:2: executing \"s.yaml\" at <printf \"%s%s\" $s $s>: error calling printf: arguments of 8388608 bytes are longer than the 4194304 a template may make"},
	{name: "defined templates", scenario: edit("name: tiny", "name: tiny\n# {{define \"x\"}}{{end}}"), want: "{{define}} and {{block}} are not supported"},
	// Structure.
	{name: "no steps", scenario: good[:strings.Index(good, "steps:")], want: "s.yaml:1: steps: a scenario needs at least one step"},
	{name: "negative namespace count", scenario: edit("count: 2", "count: -1"), want: "s.yaml:5: namespaces.count: must be >= 0"},
	{name: "negative replicas", scenario: edit("{{.replicas}}", "-1"), want: "s.yaml:13: steps[0].phases[0].replicasPerNamespace: must be >= 0"},
	{name: "negative parallelism", scenario: edit("    qps: 10", "    qps: 10\n    parallelism: -4"), want: "s.yaml:9: tuningSets[0].parallelism: must be >= 0"},
	{name: "minCount above the nodes", scenario: edit("  replicas: 2", "  replicas: 2\n  nodes: 10") + "      - {identifier: nodes, method: WaitForNodesReady, action: wait, params: {minCount: 11}}\n",
		want: "s.yaml:27: steps[1].measurements[2].params.minCount: 11 is more than the 10 nodes of the cluster"},
	{name: "node failure rate above 1", scenario: good + "chaos:\n  nodeFailure: {failureRate: 1.5, interval: 5m}\n",
		want: "s.yaml:27: chaos.nodeFailure.failureRate: 1.5: must be in (0, 1]"},
	{name: "node failures without an interval", scenario: good + "chaos:\n  nodeFailure:\n    failureRate: 0.1\n    simulatedDowntime: 1m\n",
		want: "chaos.nodeFailure.interval: must be > 0"},
	{name: "negative jitter factor", scenario: good + "chaos:\n  nodeFailure:\n    failureRate: 0.1\n    interval: 1m\n    jitterFactor: -2\n",
		want: "s.yaml:30: chaos.nodeFailure.jitterFactor: must be >= 0"},
	{name: "unknown node failure field", scenario: good + "chaos:\n  nodeFailure: {failureRate: 0.1, interval: 1m, excludedNodes: [a]}\n",
		want: "s.yaml:27: field excludedNodes not found"},
	// Names.
	{name: "invalid namespace prefix", scenario: edit("  count: 2", "  count: 2\n  prefix: Big_Test"), want: `s.yaml:6: namespaces.prefix: makes namespace name "Big_Test-2" of a Namespace: a lowercase RFC 1123 label`},
	{name: "namespace prefix too long", scenario: edit("  count: 2", "  count: 2\n  prefix: "+strings.Repeat("n", 62)), want: "namespaces.prefix: makes namespace name \"" + strings.Repeat("n", 62) + "-2\" of a Namespace: must be no more than 63 characters"},
	{name: "scenario name as a too long prefix", scenario: edit("name: tiny", "name: "+strings.Repeat("t", 62)), want: "s.yaml:1: name: makes namespace name"},
	{name: "invalid basename", scenario: edit("basename: web", "basename: Web_1"), want: "s.yaml:16: steps[0].phases[0].objects[0].basename: must be a lower-case name"},
	{name: "basename too long for its kind", scenario: edit("basename: web", "basename: "+strings.Repeat("w", 62)), template: "apiVersion: v1\nkind: Service\nspec: {ports: [{port: 80}]}\n",
		want: "s.yaml:16: steps[0].phases[0].objects[0].basename: makes name \"" + strings.Repeat("w", 62) + "-0\" of a Service: must be no more than 63 characters"},
	{name: "basename not a DNS-1035 label for a Service", scenario: edit("basename: web", "basename: 9web"), template: "apiVersion: v1\nkind: Service\nspec: {ports: [{port: 80}]}\n",
		want: "steps[0].phases[0].objects[0].basename: makes name \"9web-0\" of a Service: a DNS-1035 label"},
	// Object templates.
	{name: "template not YAML", template: "kind: [\n", want: "s.yaml:17: steps[0].phases[0].objects[0].template: template obj.yaml for web-0 is not a YAML object"},
	{name: "template without kind", template: "apiVersion: v1\nmetadata: {}\n", want: "s.yaml:17: steps[0].phases[0].objects[0].template: template obj.yaml: apiVersion and kind are required"},
	{name: "template of an unknown kind", template: "apiVersion: apps/v1\nkind: Deploymnet\n", want: "s.yaml:17: steps[0].phases[0].objects[0].template: kind Deploymnet: apps/v1 has no such kind"},
	{name: "template with an unknown field", template: "apiVersion: v1\nkind: ConfigMap\ndatta: {}\n", want: `objects[0].template: not a valid v1 ConfigMap: strict decoding error: unknown field "datta"`},
	{name: "template with a missing parameter", template: "apiVersion: v1\nkind: ConfigMap\ndata: {x: \"{{.Params.size}}\"}\n", want: `objects[0].template: rendering obj.yaml for web-0: template: obj.yaml:3:20: executing "obj.yaml" at <.Params.size>: map has no entry for key "size"`},
	{name: "template of two documents", template: configMap + "---\n" + configMap, want: "objects[0].template: template obj.yaml for web-0: line 4 starts a second YAML document"},
	{name: "template that does not parse", template: "kind: {{.Params.kind\n", want: "s.yaml:17: steps[0].phases[0].objects[0].template: parsing template obj.yaml"},
	{name: "template with a huge range", template: configMap + "# {{range 100000000000}}{{end}}\n", want: "objects[0].template: rendering obj.yaml for web-0: template: obj.yaml:4:24: a range: "},
	{name: "template symlinked to /etc/passwd", setup: symlink("/etc/passwd", "obj.yaml"), want: "s.yaml:17: steps[0].phases[0].objects[0].template: template obj.yaml for web-0 is not a YAML object"},
	{name: "template symlinked to /dev/zero", setup: symlink("/dev/zero", "obj.yaml"), want: "s.yaml:17: steps[0].phases[0].objects[0].template: reading template obj.yaml: not a regular file (a device)"},
	{name: "template a FIFO", setup: fifo("obj.yaml"), want: "objects[0].template: reading template obj.yaml: not a regular file (a FIFO)"},
	{name: "template a directory", setup: directory("obj.yaml"), want: "objects[0].template: reading template obj.yaml: not a regular file (a directory)"},
	{name: "missing template", setup: remove("obj.yaml"), want: `s.yaml:17: steps[0].phases[0].objects[0].template: template "obj.yaml" not found next to the scenario`},
	// The scenario file itself.
	{name: "scenario is /dev/zero", setup: symlink("/dev/zero", "s.yaml"), want: "s.yaml:1: not a regular file (a device)"},
	{name: "scenario is a FIFO", setup: fifo("s.yaml"), want: "s.yaml:1: not a regular file (a FIFO)"},
	{name: "scenario is a directory", setup: directory("s.yaml"), want: "s.yaml:1: not a regular file (a directory)"},
	{name: "missing scenario", setup: remove("s.yaml"), want: "s.yaml:1: stat s.yaml: no such file or directory"},
}

func symlink(target, name string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		if _, err := os.Stat(target); err != nil {
			t.Skipf("no %s: %v", target, err)
		}
		replace(t, dir, name, func(p string) error { return os.Symlink(target, p) })
	}
}

func fifo(name string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		replace(t, dir, name, func(p string) error { return syscall.Mkfifo(p, 0o644) })
	}
}

func directory(name string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		replace(t, dir, name, func(p string) error { return os.Mkdir(p, 0o755) })
	}
}

func remove(name string) func(*testing.T, string) {
	return func(t *testing.T, dir string) { replace(t, dir, name, func(string) error { return nil }) }
}

func replace(t *testing.T, dir, name string, make func(string) error) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := make(p); err != nil {
		t.Fatal(err)
	}
}

func (b badInput) files() (scenario, template string) {
	scenario, template = b.scenario, b.template
	if scenario == "" {
		scenario = good
	}
	if template == "" {
		template = configMap
	}
	return scenario, template
}

// TestBadInputSweep: every kind of bad file the sweep tried is refused by
// validation with the file, the line and the field, before anything runs.
func TestBadInputSweep(t *testing.T) {
	for _, tt := range badInputs {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			scenario, template := tt.files()
			for name, data := range map[string]string{"s.yaml": scenario, "obj.yaml": template} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			path := filepath.Join(dir, "s.yaml")
			_, err := LoadFile(path, nil)
			if err == nil {
				t.Fatalf("accepted; want an error containing %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), path+":") || !strings.Contains(err.Error(), strings.TrimPrefix(tt.want, "s.yaml")) {
				t.Errorf("error %q\nwant %s:… containing %q", err, path, tt.want)
			}
		})
	}
}

// FuzzParseValidate: no input makes parsing and validation panic, hang or
// accept a scenario whose objects would not render; the seeds are the
// built-in scenarios and the sweep's files.
func FuzzParseValidate(f *testing.F) {
	for _, name := range List() {
		src, err := readFile(Builtin(), name+".yaml")
		if err != nil {
			f.Fatal(err)
		}
		tmpl, err := readFile(Builtin(), "density/deployment.yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(strings.ReplaceAll(string(src), "density/deployment.yaml", "obj.yaml"), string(tmpl))
	}
	for _, b := range badInputs {
		// Files that exhaust the rendering budget take a second each: as
		// seeds they would leave the fuzzer little time for anything else.
		if b.setup == nil && !strings.Contains(b.want, "a range: ") && !strings.Contains(b.want, "rendered text is longer") {
			scenario, template := b.files()
			f.Add(scenario, template)
		}
	}
	f.Fuzz(func(t *testing.T, scenario, template string) {
		fsys := fstest.MapFS{"s.yaml": {Data: []byte(scenario)}, "obj.yaml": {Data: []byte(template)}}
		s, err := Load(fsys, "s.yaml", nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "s.yaml:") {
				t.Fatalf("error without the file's name: %v", err)
			}
			return
		}
		if len(s.Steps) == 0 {
			t.Fatal("accepted a scenario without steps")
		}
	})
}
