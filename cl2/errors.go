package cl2

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hollowmark/hollowmark/scenarios"
)

// Error is a problem in a config, module or template, at a line.
type Error = scenarios.Error

func joinErrors(errs []error) error { return errors.Join(errs...) }

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// yamlError places the YAML library's errors at their source lines.
func yamlError(file string, lines func(int) int, err error) error {
	msgs := []string{err.Error()}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	var out []error
	for _, m := range msgs {
		m = strings.TrimPrefix(m, "yaml: ")
		if g := yamlLine.FindStringSubmatch(m); g != nil {
			n, _ := strconv.Atoi(g[1])
			out = append(out, &Error{File: file, Line: lines(n), Msg: g[2]})
		} else {
			out = append(out, &Error{File: file, Line: 1, Msg: m})
		}
	}
	return errors.Join(out...)
}

var (
	templateLine = regexp.MustCompile(`^template: [^:]+:(\d+):(?:\d+:)? (.*)$`)
	executing    = regexp.MustCompile(`^executing ".*?" `)
)

// templateError places a text/template error at its line.
func templateError(file string, err error) error {
	if g := templateLine.FindStringSubmatch(err.Error()); g != nil {
		n, _ := strconv.Atoi(g[1])
		return &Error{File: file, Line: n, Msg: executing.ReplaceAllString(g[2], "")}
	}
	return &Error{File: file, Line: 1, Msg: err.Error()}
}
