package render

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/sockscope/sockscope"
)

// KillReport is what kill did, or would do with DryRun.
type KillReport struct {
	DryRun  bool
	Results []sockscope.DestroyResult
}

// WriteKill prints one row per socket: what happened to it ("closed",
// "failed", or "would close" in a dry run), the socket, and for a failure
// the kernel's errno and the message. On a terminal the rows are aligned
// under a header; in a pipe they are tab-separated records.
func WriteKill(w io.Writer, rep KillReport, st Style) error {
	t := NewTable(w, st.TTY, st.Color, "RESULT", "NETID", "STATE", "LOCAL", "PEER", "ERROR")
	for _, r := range rep.Results {
		s := r.Socket
		res, color, msg := "closed", Green, ""
		switch {
		case rep.DryRun:
			res, color = "would close", Yellow
		case r.Err != nil:
			res, color = "failed", Red
			msg = r.Err.Error()
			if e := r.Errno(); e != "" {
				msg = e + ": " + msg
			}
		}
		local, peer := Sanitize(s.LocalString()), Sanitize(s.RemoteString())
		if s.Proto == sockscope.Unix {
			local = Sanitize(s.Path)
		}
		t.Row(Cell{Text: res, Color: color}, Cell{Text: s.Proto.String()}, Cell{Text: s.State.String()},
			Cell{Text: local}, Cell{Text: peer}, Cell{Text: Sanitize(msg)})
	}
	return t.Flush()
}

type killJSON struct {
	Version int              `json:"version"`
	DryRun  bool             `json:"dry_run"`
	Results []killResultJSON `json:"results"`
}

type killResultJSON struct {
	Socket  json.RawMessage `json:"socket"`
	Closed  bool            `json:"closed"`
	Errno   *string         `json:"errno"`
	Message *string         `json:"error"`
}

// WriteKillJSON writes the kill document (docs/json.md): one JSON object
// and a newline.
func WriteKillJSON(w io.Writer, rep KillReport) error {
	doc := killJSON{Version: SchemaVersion, DryRun: rep.DryRun, Results: []killResultJSON{}}
	for _, r := range rep.Results {
		j := killResultJSON{Socket: AppendSocketJSON(nil, r.Socket), Closed: !rep.DryRun && r.Err == nil}
		if r.Err != nil {
			msg, e := r.Err.Error(), r.Errno()
			j.Message = &msg
			if e != "" {
				j.Errno = &e
			}
		}
		doc.Results = append(doc.Results, j)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("kill: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
