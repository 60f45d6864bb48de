package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// This file reads the Prometheus text exposition format (version 0.0.4)
// strictly enough for the tests: every sample belongs to a family declared
// once by # TYPE before its samples, names and label names are valid,
// label values are properly quoted, values parse, and no series repeats.
// It replaces github.com/prometheus/common/expfmt, which only the tests
// used, so that the module does not require it directly.

// family is one metric family of a scrape.
type family struct {
	Type    string // gauge, counter, histogram, summary or untyped
	Metrics []metric
}

// metric is one sample: its labels and value.
type metric struct {
	Labels map[string]string
	Value  float64
}

// parseExposition reads a text exposition into its families, by name.
func parseExposition(r io.Reader) (map[string]*family, error) {
	fams := map[string]*family{}
	series := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		l := sc.Text()
		if err := parseLine(l, fams, series); err != nil {
			return nil, fmt.Errorf("line %d %.100q: %w", line, l, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return fams, nil
}

func parseLine(l string, fams map[string]*family, series map[string]bool) error {
	if strings.TrimSpace(l) == "" {
		return nil
	}
	if rest, ok := strings.CutPrefix(l, "#"); ok {
		f := strings.Fields(rest)
		if len(f) < 2 || (f[0] != "TYPE" && f[0] != "HELP") {
			return nil // a comment
		}
		if !validName(f[1], true) {
			return fmt.Errorf("invalid metric name %q", f[1])
		}
		if f[0] == "HELP" {
			return nil
		}
		if len(f) != 3 {
			return fmt.Errorf("TYPE needs a name and a type")
		}
		switch f[2] {
		case "gauge", "counter", "histogram", "summary", "untyped":
		default:
			return fmt.Errorf("unknown type %q", f[2])
		}
		if fams[f[1]] != nil {
			return fmt.Errorf("second TYPE for %s", f[1])
		}
		fams[f[1]] = &family{Type: f[2]}
		return nil
	}
	name, rest := l, ""
	if i := strings.IndexAny(l, "{ "); i >= 0 {
		name, rest = l[:i], l[i:]
	}
	if !validName(name, true) {
		return fmt.Errorf("invalid metric name %q", name)
	}
	fam := fams[name]
	if fam == nil {
		// A summary's or histogram's _sum, _count and _bucket samples
		// belong to the family without the suffix.
		for _, suf := range []string{"_sum", "_count", "_bucket"} {
			if base, ok := strings.CutSuffix(name, suf); ok {
				if f := fams[base]; f != nil && (f.Type == "summary" || f.Type == "histogram") && (suf != "_bucket" || f.Type == "histogram") {
					fam = f
				}
			}
		}
	}
	if fam == nil {
		return fmt.Errorf("sample of %s before its TYPE", name)
	}
	m := metric{Labels: map[string]string{}}
	if strings.HasPrefix(rest, "{") {
		var err error
		if rest, err = parseLabels(rest[1:], m.Labels); err != nil {
			return err
		}
	}
	f := strings.Fields(rest)
	if len(f) < 1 || len(f) > 2 || !strings.HasPrefix(rest, " ") {
		return fmt.Errorf("want a value and an optional timestamp after the labels")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return fmt.Errorf("value: %w", err)
	}
	if len(f) == 2 {
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			return fmt.Errorf("timestamp: %w", err)
		}
	}
	m.Value = v
	key := seriesKey(name, m.Labels)
	if series[key] {
		return fmt.Errorf("series %s repeated", key)
	}
	series[key] = true
	fam.Metrics = append(fam.Metrics, m)
	return nil
}

// parseLabels reads `name="value",...}` into labels and returns what
// follows the closing brace.
func parseLabels(s string, labels map[string]string) (string, error) {
	for {
		if rest, ok := strings.CutPrefix(s, "}"); ok {
			return rest, nil
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return "", fmt.Errorf("label without =")
		}
		name := s[:eq]
		if !validName(name, false) {
			return "", fmt.Errorf("invalid label name %q", name)
		}
		if _, dup := labels[name]; dup {
			return "", fmt.Errorf("label %s repeated", name)
		}
		s = s[eq+1:]
		if !strings.HasPrefix(s, `"`) {
			return "", fmt.Errorf("label %s: value not quoted", name)
		}
		var b strings.Builder
		i := 1
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] != '\\' {
				b.WriteByte(s[i])
				continue
			}
			i++
			if i == len(s) {
				break
			}
			switch s[i] {
			case '\\', '"':
				b.WriteByte(s[i])
			case 'n':
				b.WriteByte('\n')
			default:
				return "", fmt.Errorf(`label %s: unknown escape \%c`, name, s[i])
			}
		}
		if i >= len(s) {
			return "", fmt.Errorf("label %s: unterminated value", name)
		}
		labels[name] = b.String()
		s = s[i+1:]
		if rest, ok := strings.CutPrefix(s, ","); ok {
			s = rest
		} else if !strings.HasPrefix(s, "}") {
			return "", fmt.Errorf("after label %s: want , or }", name)
		}
	}
}

// validName reports whether s is a valid metric name (colons allowed) or
// label name.
func validName(s string, metricName bool) bool {
	if s == "" {
		return false
	}
	for i, c := range []byte(s) {
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || (metricName && c == ':') || (i > 0 && c >= '0' && c <= '9')
		if !ok {
			return false
		}
	}
	return true
}

func seriesKey(name string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString(name)
	for _, k := range keys {
		fmt.Fprintf(&b, ",%s=%q", k, labels[k])
	}
	return b.String()
}

func TestParseExposition(t *testing.T) {
	good := `# HELP a_total A counter.
# TYPE a_total counter
a_total 3
# TYPE b gauge
b{x="1",y="q\"\\\n"} -1.5 1700000000000
b{x="2"} +Inf
# a comment
c:d_total 1
`
	fams, err := parseExposition(strings.NewReader(strings.Replace(good, "c:d_total 1\n", "# TYPE c:d_total untyped\nc:d_total 1\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if f := fams["a_total"]; f == nil || f.Type != "counter" || len(f.Metrics) != 1 || f.Metrics[0].Value != 3 {
		t.Errorf("a_total = %+v", f)
	}
	if _, err := parseExposition(strings.NewReader("# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n")); err != nil {
		t.Errorf("summary and histogram: %v", err)
	}
	b := fams["b"]
	if b == nil || b.Type != "gauge" || len(b.Metrics) != 2 || b.Metrics[0].Labels["y"] != "q\"\\\n" || b.Metrics[0].Value != -1.5 || !math.IsInf(b.Metrics[1].Value, 1) {
		t.Errorf("b = %+v", b)
	}
	for _, bad := range []string{
		good, // c:d_total has no TYPE
		"# TYPE a gauge\n# TYPE a gauge\n",
		"# TYPE a gauge\na 1\na 2\n",
		"# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n",
		"# TYPE a gauge\na{x=1} 1\n",
		"# TYPE a gauge\na{x=\"1} 1\n",
		"# TYPE a gauge\na{x=\"\\t\"} 1\n",
		"# TYPE a gauge\na{1x=\"1\"} 1\n",
		"# TYPE a gauge\na one\n",
		"# TYPE a gauge\na 1 2 3\n",
		"# TYPE a gauge\na 1 soon\n",
		"# TYPE a gauge\na{x=\"1\"}1\n",
		"# TYPE a gauge\n9a 1\n",
		"# TYPE a gaugeish\n",
		"# TYPE a gauge\na_sum 1\n",                // only summaries and histograms have _sum
		"# TYPE a summary\na_bucket{le=\"1\"} 1\n", // only histograms have _bucket
	} {
		if _, err := parseExposition(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
