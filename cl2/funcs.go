package cl2

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/template"

	"go.yaml.in/yaml/v3"
)

// funcs are CL2's template functions (clusterloader2/pkg/config/
// template_functions.go), with CL2's meaning: arithmetic takes any number
// (or a numeric string) and works in float64, the Int forms truncating
// the result. IncludeEmbedFile reads from the config's directory;
// IncludeFile reads a path relative to the config's directory too (CL2:
// to its own binary's), with environment variables expanded. Random
// functions draw from rng, seeded by the run's --seed (CL2 seeds from the
// clock).
func funcs(fsys fs.FS, dir string, rng *lockedRand) template.FuncMap {
	return template.FuncMap{
		"AddFloat":         func(xs ...any) (float64, error) { return fold(xs, 0, func(a, b float64) float64 { return a + b }) },
		"AddInt":           func(xs ...any) (int, error) { return toInt(fold(xs, 0, func(a, b float64) float64 { return a + b })) },
		"SubtractFloat":    func(a, b any) (float64, error) { return binary2(a, b, func(x, y float64) float64 { return x - y }) },
		"SubtractInt":      func(a, b any) (int, error) { return toInt(binary2(a, b, func(x, y float64) float64 { return x - y })) },
		"MultiplyFloat":    func(xs ...any) (float64, error) { return fold(xs, 1, func(a, b float64) float64 { return a * b }) },
		"MultiplyInt":      func(xs ...any) (int, error) { return toInt(fold(xs, 1, func(a, b float64) float64 { return a * b })) },
		"DivideFloat":      divide,
		"DivideInt":        func(a, b any) (int, error) { return toInt(divide(a, b)) },
		"MaxFloat":         func(xs ...any) (float64, error) { return extreme(xs, math.Max) },
		"MaxInt":           func(xs ...any) (int, error) { return toInt(extreme(xs, math.Max)) },
		"MinFloat":         func(xs ...any) (float64, error) { return extreme(xs, math.Min) },
		"MinInt":           func(xs ...any) (int, error) { return toInt(extreme(xs, math.Min)) },
		"Mod":              mod,
		"Ceil":             func(x any) (float64, error) { f, err := number(x); return math.Ceil(f), err },
		"DefaultParam":     defaultParam,
		"IfThenElse":       ifThenElse,
		"Concat":           func(xs ...string) string { return strings.Join(xs, "") },
		"Lowercase":        strings.ToLower,
		"StringSplit":      func(s string) []string { return strings.Split(s, ",") },
		"YamlQuote":        yamlQuote,
		"Loop":             loop,
		"SliceOfZeros":     zeros,
		"Seq":              zeros, // deprecated in CL2 with this meaning
		"RandInt":          rng.intUpTo,
		"RandIntRange":     rng.intRange,
		"RandData":         rng.data,
		"RandDataWithSeed": randDataWithSeed,
		"IncludeEmbedFile": func(name any) (string, error) { return includeEmbed(fsys, name) },
		"IncludeFile":      func(name any) (string, error) { return includeFile(dir, name) },
	}
}

// number reads a value as CL2's toFloat64 does.
func number(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case uint32:
		return float64(x), nil
	case uint:
		return float64(x), nil
	case string:
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return f, nil
		}
	}
	if v == nil {
		return 0, errors.New("not a number: no value (a parameter that is not set?)")
	}
	return 0, fmt.Errorf("not a number: %v (%T)", v, v)
}

func toInt(f float64, err error) (int, error) { return int(f), err }

func fold(xs []any, start float64, op func(a, b float64) float64) (float64, error) {
	acc := start
	for _, x := range xs {
		f, err := number(x)
		if err != nil {
			return 0, err
		}
		acc = op(acc, f)
	}
	return acc, nil
}

func binary2(a, b any, op func(x, y float64) float64) (float64, error) {
	x, err := number(a)
	if err != nil {
		return 0, err
	}
	y, err := number(b)
	if err != nil {
		return 0, err
	}
	return op(x, y), nil
}

func divide(a, b any) (float64, error) {
	y, err := number(b)
	if err != nil {
		return 0, err
	}
	if y == 0 {
		return 0, errors.New("division by zero")
	}
	return binary2(a, b, func(x, y float64) float64 { return x / y })
}

func extreme(xs []any, pick func(a, b float64) float64) (float64, error) {
	if len(xs) == 0 {
		return 0, errors.New("needs at least one number")
	}
	first, err := number(xs[0])
	if err != nil {
		return 0, err
	}
	return fold(xs, first, pick)
}

func mod(a, b any) (int, error) {
	x, err := number(a)
	if err != nil {
		return 0, err
	}
	y, err := number(b)
	if err != nil {
		return 0, err
	}
	if int(y) == 0 {
		return 0, errors.New("Mod by zero")
	}
	return int(x) % int(y), nil
}

// defaultParam is the default for a parameter that is not set: CL2's
// templates see a missing key as nil.
func defaultParam(param, def any) any {
	if param == nil {
		return def
	}
	return param
}

func ifThenElse(cond, then, otherwise any) (any, error) {
	b, ok := cond.(bool)
	if !ok {
		return nil, fmt.Errorf("IfThenElse: want a bool condition, have %v (%T)", cond, cond)
	}
	if b {
		return then, nil
	}
	return otherwise, nil
}

// yamlQuote quotes a string as YAML, continuing lines at tabs*2 spaces.
func yamlQuote(s any, tabs any) (string, error) {
	str, ok := s.(string)
	if !ok {
		return "", fmt.Errorf("YamlQuote: want a string, have %T", s)
	}
	n, err := number(tabs)
	if err != nil {
		return "", err
	}
	out, err := yaml.Marshal(str)
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(string(out), "\n", "\n"+strings.Repeat("  ", int(n))), nil
}

func loop(size any) ([]int, error) {
	n, err := number(size)
	if err != nil {
		return nil, err
	}
	out := make([]int, max(int(n), 0))
	for i := range out {
		out[i] = i
	}
	return out, nil
}

func zeros(size any) ([]int, error) {
	n, err := number(size)
	return make([]int, max(int(n), 0)), err
}

const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

func randString(r *rand.Rand, n int) string {
	b := make([]byte, max(n, 0))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// randDataWithSeed is n pseudo-random characters determined by seed, so
// that the same object gets the same payload each time it is rendered.
func randDataWithSeed(size any, seed string) (string, error) {
	n, err := number(size)
	if err != nil || n <= 0 {
		return "", err
	}
	sum := sha256.Sum256([]byte(seed))
	s := binary.BigEndian.Uint64(sum[:8])
	return randString(rand.New(rand.NewPCG(s, s)), int(n)), nil
}

func includeEmbed(fsys fs.FS, name any) (string, error) {
	s, ok := name.(string)
	if !ok {
		return "", fmt.Errorf("IncludeEmbedFile: want a path, have %T", name)
	}
	data, err := readFile(fsys, s)
	if err != nil {
		return "", fmt.Errorf("IncludeEmbedFile: %w", err)
	}
	return string(data), nil
}

func includeFile(dir string, name any) (string, error) {
	s, ok := name.(string)
	if !ok {
		return "", fmt.Errorf("IncludeFile: want a path, have %T", name)
	}
	s = os.ExpandEnv(s)
	if !filepath.IsAbs(s) {
		s = filepath.Join(dir, s)
	}
	data, err := readPath(s)
	if err != nil {
		return "", fmt.Errorf("IncludeFile: %w", err)
	}
	return string(data), nil
}

// lockedRand is a seeded source shared by the templates of a run, which
// render concurrently.
type lockedRand struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func newLockedRand(seed uint64) *lockedRand {
	return &lockedRand{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// intUpTo is a number in [0, n].
func (r *lockedRand) intUpTo(n any) (int, error) {
	f, err := number(n)
	if err != nil {
		return 0, err
	}
	if f < 0 {
		return 0, fmt.Errorf("RandInt: %v < 0", f)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rng.IntN(int(f) + 1), nil
}

// intRange is a number in [lo, hi], or lo when lo >= hi.
func (r *lockedRand) intRange(lo, hi any) (int, error) {
	a, err := number(lo)
	if err != nil {
		return 0, err
	}
	b, err := number(hi)
	if err != nil {
		return 0, err
	}
	if int(a) >= int(b) {
		return int(a), nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return int(a) + r.rng.IntN(int(b)-int(a)+1), nil
}

func (r *lockedRand) data(size any) (string, error) {
	n, err := number(size)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return randString(r.rng, int(n)), nil
}
