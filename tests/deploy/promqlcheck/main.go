// Command promqlcheck parses PromQL with Prometheus' own parser, for the chart's tests.
//
// Input: one expression per line, each a JSON string. Output: one JSON object per
// line, in order: {"error": "..."} when the expression does not parse, else
// {"metrics": [...]}, the sorted metric names of its vector selectors (a selector
// written {__name__="x"} counts as x).
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"sort"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	promql := parser.NewParser(parser.Options{})
	for in.Scan() {
		var expr string
		if err := json.Unmarshal(in.Bytes(), &expr); err != nil {
			_ = out.Encode(map[string]string{"error": "input: " + err.Error()})
			continue
		}
		parsed, err := promql.ParseExpr(expr)
		if err != nil {
			_ = out.Encode(map[string]string{"error": err.Error()})
			continue
		}
		names := map[string]bool{}
		parser.Inspect(parsed, func(node parser.Node, _ []parser.Node) error {
			if vs, ok := node.(*parser.VectorSelector); ok {
				name := vs.Name
				for _, m := range vs.LabelMatchers {
					if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
						name = m.Value
					}
				}
				names[name] = true
			}
			return nil
		})
		list := []string{}
		for name := range names {
			list = append(list, name)
		}
		sort.Strings(list)
		_ = out.Encode(map[string][]string{"metrics": list})
	}
}
