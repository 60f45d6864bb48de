package render

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/sockscope/sockscope/internal/lab"
)

// labReportJSON is one experiment's report in sockscope lab's JSON
// (docs/json.md).
type labReportJSON struct {
	Name      string            `json:"name"`
	Claim     string            `json:"claim"`
	Result    string            `json:"result"`
	Namespace string            `json:"namespace,omitempty"`
	Details   []string          `json:"details"`
	Sockets   []json.RawMessage `json:"sockets"`
}

// labClaimJSON is one experiment in sockscope lab --list's JSON.
type labClaimJSON struct {
	Name  string `json:"name"`
	Claim string `json:"claim"`
}

// labDocJSON is the document sockscope lab -o json prints.
type labDocJSON struct {
	Version     int `json:"version"`
	Experiments any `json:"experiments"`
}

func labReport(r lab.Report) labReportJSON {
	j := labReportJSON{
		Name:      r.Name,
		Claim:     r.Claim,
		Result:    r.Result,
		Namespace: r.Namespace,
		Details:   append([]string{}, r.Details...),
		Sockets:   make([]json.RawMessage, len(r.Sockets)),
	}
	for i, s := range r.Sockets {
		j.Sockets[i] = AppendSocketJSON(nil, s)
	}
	return j
}

func labClaims(exps []lab.Experiment) []labClaimJSON {
	out := make([]labClaimJSON, len(exps))
	for i, e := range exps {
		out[i] = labClaimJSON{Name: e.Name, Claim: e.Claim}
	}
	return out
}

// WriteLabJSON prints the reports as one JSON document:
// {"version","experiments":[{"name","claim","result","namespace","details","sockets"}]},
// each socket as in AppendSocketJSON.
func WriteLabJSON(w io.Writer, reports []lab.Report) error {
	exps := make([]labReportJSON, len(reports))
	for i, r := range reports {
		exps[i] = labReport(r)
	}
	return writeLabDoc(w, labDocJSON{Version: SchemaVersion, Experiments: exps})
}

// WriteLabNDJSON prints one report as one line of JSON, the object of
// WriteLabJSON's "experiments".
func WriteLabNDJSON(w io.Writer, r lab.Report) error {
	return writeLabLine(w, labReport(r))
}

// WriteLabListJSON prints the experiments' names and claims as one JSON
// document, {"version","experiments":[{"name","claim"}]}, or with ndjson
// one {"name","claim"} object per line.
func WriteLabListJSON(w io.Writer, exps []lab.Experiment, ndjson bool) error {
	claims := labClaims(exps)
	if !ndjson {
		return writeLabDoc(w, labDocJSON{Version: SchemaVersion, Experiments: claims})
	}
	var b []byte
	for _, c := range claims {
		line, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("render: lab list: %w", err)
		}
		b = append(append(b, line...), '\n')
	}
	_, err := w.Write(b)
	return err
}

// WriteLabList prints the experiments' names and claims as a table.
func WriteLabList(w io.Writer, exps []lab.Experiment, st Style) error {
	t := NewTable(w, st.TTY, st.Color, "NAME", "CLAIM")
	for _, e := range exps {
		t.Row(Cell{Text: Sanitize(e.Name)}, Cell{Text: Sanitize(e.Claim)})
	}
	return t.Flush()
}

// WriteLabReport prints one report for people: the claim, the sockets the
// experiment built with their holders, the details, and the result.
func WriteLabReport(w io.Writer, r lab.Report, st Style) error {
	if _, err := fmt.Fprintf(w, "%s %s\n", Paint("== "+Sanitize(r.Name)+":", Bold, st.Color), Sanitize(r.Claim)); err != nil {
		return err
	}
	if len(r.Sockets) > 0 {
		sst := st
		sst.Processes = true
		sst.Numeric = true
		if err := WriteSockets(w, r.Sockets, sst); err != nil {
			return err
		}
	}
	for _, d := range r.Details {
		if _, err := fmt.Fprintf(w, "   %s\n", Sanitize(d)); err != nil {
			return err
		}
	}
	c := Green
	switch r.Result {
	case lab.Fail:
		c = Red
	case lab.Skip:
		c = Yellow
	}
	_, err := fmt.Fprintf(w, "%s %s\n\n", Paint(r.Result, c, st.Color), Sanitize(r.Name))
	return err
}

// WriteLabSummary prints the closing line of a lab run.
func WriteLabSummary(w io.Writer, passed, failed, skipped int) error {
	_, err := fmt.Fprintf(w, "lab: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
	return err
}

// writeLabDoc prints v as an indented JSON document.
func writeLabDoc(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// writeLine prints v as one line of JSON.
func writeLabLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
