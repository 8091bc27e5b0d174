// Package boundedtemplate parses and executes Go text templates that users
// wrote (scenario files, object templates) within bounds of output, work
// and time, so that a template looping over a huge count or doubling a
// string forty times fails with an error instead of taking the machine's
// memory or hanging.
//
// The bounds hold by instrumentation, not by a watchdog goroutine that
// could only abandon the work: every range body starts with a step that
// charges its size to a budget and checks the deadline, the builtins that
// build strings (printf, print, println, html, js, urlquery) charge what
// they build and refuse results above the output limit, and the writer
// refuses output above it. Defined templates ({{define}}, {{block}},
// {{template}}) are refused at parse time: they are the only other way to
// repeat work (recursion), and scenario files have no use for them.
package boundedtemplate

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

// Limits bound one execution.
type Limits struct {
	// Output is the most bytes the template may write, and the longest
	// string a function may build.
	Output int
	// Steps is the work budget: each pass through a range body costs one
	// step per node of the body, and each 64 bytes a function builds one
	// step.
	Steps int
	// Timeout bounds the execution's time, checked at every step.
	Timeout time.Duration
}

// DefaultLimits are far above what a scenario needs (the density scenario
// renders to 5 KB in a few hundred steps) and far below what hurts: tens of
// MB of memory and a few seconds.
var DefaultLimits = Limits{Output: 4 << 20, Steps: 1_000_000, Timeout: 5 * time.Second}

// stepFunc is the function inserted at the start of every range body. A
// template that names it fails to parse: Parse does not define it.
const stepFunc = "hollowmarkStep_"

// maxDepth is how deeply actions may nest; the tree walk and the
// execution recurse over it.
const maxDepth = 100

// Parse parses src as a template named name with funcs and the option
// missingkey=error, and instruments it. It refuses defined templates.
func Parse(name, src string, funcs template.FuncMap) (*template.Template, error) {
	t, err := template.New(name).Funcs(funcs).Funcs(placeholders).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, err
	}
	if len(t.Templates()) > 1 {
		return nil, fmt.Errorf("template: %s: {{define}} and {{block}} are not supported", name)
	}
	if t.Tree == nil { // only comments and whitespace
		return t, nil
	}
	if err := instrument(t.Tree, t.Root, 0); err != nil {
		return nil, err
	}
	return t, nil
}

// Execute renders t with data within lim. t must come from Parse.
func Execute(t *template.Template, data any, lim Limits) ([]byte, error) {
	run, err := t.Clone()
	if err != nil {
		return nil, fmt.Errorf("cloning template %s: %w", t.Name(), err)
	}
	b := &budget{lim: lim, steps: lim.Steps, deadline: time.Now().Add(lim.Timeout)}
	run.Funcs(b.funcs())
	out := &limitedBuffer{limit: lim.Output}
	if err := run.Execute(out, data); err != nil {
		// A step's error is about the range it starts, not the function.
		return nil, errors.New(stepCall.ReplaceAllString(err.Error(), "a range: "))
	}
	return out.Bytes(), nil
}

var stepCall = regexp.MustCompile(`executing "[^"]*" at <` + stepFunc + ` \d+>: error calling ` + stepFunc + `: `)

// placeholders let Parse accept the builtins Execute replaces; Execute
// overrides each with a bounded version.
var placeholders = template.FuncMap{
	"printf": fmt.Sprintf, "print": fmt.Sprint, "println": fmt.Sprintln,
	"html": template.HTMLEscaper, "js": template.JSEscaper, "urlquery": template.URLQueryEscaper,
}

// instrument walks the tree: it refuses template calls and deep nesting,
// and puts a step at the start of every range body.
func instrument(tree *parse.Tree, n parse.Node, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("template: %s:%d: actions nested more than %d deep", tree.ParseName, line(tree, n), maxDepth)
	}
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := instrument(tree, c, depth+1); err != nil {
				return err
			}
		}
	case *parse.TemplateNode:
		return fmt.Errorf("template: %s:%d: {{template}} is not supported", tree.ParseName, line(tree, n))
	case *parse.IfNode:
		return instrumentBranch(tree, &n.BranchNode, depth)
	case *parse.WithNode:
		return instrumentBranch(tree, &n.BranchNode, depth)
	case *parse.RangeNode:
		if err := instrumentBranch(tree, &n.BranchNode, depth); err != nil {
			return err
		}
		n.List.Nodes = append([]parse.Node{stepAction(n.List, 1+size(n.List))}, n.List.Nodes...)
	}
	return nil
}

func instrumentBranch(tree *parse.Tree, b *parse.BranchNode, depth int) error {
	if err := instrument(tree, b.List, depth+1); err != nil {
		return err
	}
	if b.ElseList != nil {
		return instrument(tree, b.ElseList, depth+1)
	}
	return nil
}

func line(tree *parse.Tree, n parse.Node) int {
	loc, _ := tree.ErrorContext(n) // name:line:col
	parts := strings.Split(loc, ":")
	if len(parts) < 3 {
		return 0
	}
	l, _ := strconv.Atoi(parts[len(parts)-2])
	return l
}

// size counts the nodes of a list, nested bodies included once.
func size(n parse.Node) int {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return 0
		}
		total := 0
		for _, c := range n.Nodes {
			total += size(c)
		}
		return total
	case *parse.IfNode:
		return 1 + size(n.List) + size(n.ElseList)
	case *parse.WithNode:
		return 1 + size(n.List) + size(n.ElseList)
	case *parse.RangeNode:
		return 1 + size(n.List) + size(n.ElseList)
	}
	return 1
}

// stepAction is {{hollowmark.step cost}}: it prints nothing.
func stepAction(at *parse.ListNode, cost int) parse.Node {
	num := &parse.NumberNode{NodeType: parse.NodeNumber, Pos: at.Pos, IsInt: true, Int64: int64(cost), Text: strconv.Itoa(cost)}
	cmd := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: at.Pos, Args: []parse.Node{parse.NewIdentifier(stepFunc).SetPos(at.Pos), num}}
	return &parse.ActionNode{NodeType: parse.NodeAction, Pos: at.Pos,
		Pipe: &parse.PipeNode{NodeType: parse.NodePipe, Pos: at.Pos, Cmds: []*parse.CommandNode{cmd}}}
}

// budget is one execution's remaining work and deadline.
type budget struct {
	lim      Limits
	steps    int
	deadline time.Time
}

func (b *budget) charge(steps int) error {
	b.steps -= steps
	if b.steps < 0 {
		return fmt.Errorf("the template does more than %d steps of work (a range over too many items?)", b.lim.Steps)
	}
	if time.Now().After(b.deadline) {
		return fmt.Errorf("rendering takes longer than %s", b.lim.Timeout)
	}
	return nil
}

// built charges a string a function built and refuses one that is too long.
func (b *budget) built(s string) (string, error) {
	if len(s) > b.lim.Output {
		return "", fmt.Errorf("a value of %d bytes is longer than the %d a template may make", len(s), b.lim.Output)
	}
	return s, b.charge(1 + len(s)/64)
}

func (b *budget) funcs() template.FuncMap {
	return template.FuncMap{
		stepFunc: func(cost int) (string, error) { return "", b.charge(cost) },
		// fmt caps widths and precisions at 10^6, so one verb builds at
		// most a megabyte, which built then charges.
		"printf": func(format string, args ...any) (string, error) {
			if err := b.checkArgs(args); err != nil {
				return "", err
			}
			return b.built(fmt.Sprintf(format, args...))
		},
		"print": func(args ...any) (string, error) {
			if err := b.checkArgs(args); err != nil {
				return "", err
			}
			return b.built(fmt.Sprint(args...))
		},
		"println": func(args ...any) (string, error) {
			if err := b.checkArgs(args); err != nil {
				return "", err
			}
			return b.built(fmt.Sprintln(args...))
		},
		"html":     b.escaper(template.HTMLEscaper),
		"js":       b.escaper(template.JSEscaper),
		"urlquery": b.escaper(template.URLQueryEscaper),
	}
}

// escaper bounds an escaping builtin: escaping grows a string at most
// sixfold, so checking the input bounds the work.
func (b *budget) escaper(escape func(...any) string) func(...any) (string, error) {
	return func(args ...any) (string, error) {
		if err := b.checkArgs(args); err != nil {
			return "", err
		}
		return b.built(escape(args...))
	}
}

// checkArgs refuses arguments whose strings add up to more than the
// output limit: many long strings in one call would make one too long.
func (b *budget) checkArgs(args []any) error {
	total := 0
	for _, a := range args {
		if s, ok := a.(string); ok {
			total += len(s)
		}
	}
	if total > b.lim.Output {
		return fmt.Errorf("arguments of %d bytes are longer than the %d a template may make", total, b.lim.Output)
	}
	return nil
}

// limitedBuffer is a buffer that refuses to grow past limit.
type limitedBuffer struct {
	bytes.Buffer
	limit int
}

func (w *limitedBuffer) Write(p []byte) (int, error) {
	if w.Len()+len(p) > w.limit {
		return 0, fmt.Errorf("the rendered text is longer than %d bytes", w.limit)
	}
	return w.Buffer.Write(p)
}
