package cl2

import (
	"regexp"
	"strings"
	"sync"
)

// sourceLines maps a line of a rendered template back to the source line
// that produced it, so that errors found in the rendered YAML name the
// line the author wrote. Rendering drops lines ({{if}} blocks) and repeats
// them ({{range}}), so lines are matched by their literal text around the
// template actions, in order.
type sourceLines struct {
	src, rendered string
	once          sync.Once
	byRendered    []int
}

func newSourceLines(src, rendered string) *sourceLines {
	return &sourceLines{src: src, rendered: rendered}
}

var actionRE = regexp.MustCompile(`\{\{.*?\}\}`)

// line is the source line of rendered line n (from 1); n itself when no
// source line matches.
func (s *sourceLines) line(n int) int {
	s.once.Do(s.match)
	if n >= 1 && n <= len(s.byRendered) && s.byRendered[n-1] > 0 {
		return s.byRendered[n-1]
	}
	return n
}

func (s *sourceLines) match() {
	src := strings.Split(s.src, "\n")
	patterns := make([]*regexp.Regexp, len(src))
	for i, l := range src {
		lits := actionRE.Split(l, -1)
		if strings.TrimSpace(strings.Join(lits, "")) == "" {
			continue // only actions: says nothing about where we are
		}
		for j := range lits {
			lits[j] = regexp.QuoteMeta(lits[j])
		}
		patterns[i] = regexp.MustCompile("^" + strings.Join(lits, ".*?") + "$")
	}
	cursor := 0
	find := func(line string, from int) int {
		for i := from; i < len(src); i++ {
			if patterns[i] != nil && patterns[i].MatchString(line) {
				return i
			}
		}
		return -1
	}
	for _, line := range strings.Split(s.rendered, "\n") {
		if strings.TrimSpace(line) == "" {
			s.byRendered = append(s.byRendered, 0)
			continue
		}
		i := find(line, cursor)
		if i < 0 {
			i = find(line, 0)
		}
		if i < 0 {
			s.byRendered = append(s.byRendered, 0)
			continue
		}
		cursor = i + 1
		s.byRendered = append(s.byRendered, i+1)
	}
}
