package render

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/sockscope/sockscope/internal/buildinfo"
)

// versionDocJSON is 'sockscope version -o json': the schema version, then
// the build's fields ("release" is sockscope's own version).
type versionDocJSON struct {
	Version int `json:"version"`
	buildinfo.Info
}

// WriteVersionJSON writes the build information as one JSON document, on
// one line (so -o json and -o ndjson print the same).
func WriteVersionJSON(w io.Writer, info buildinfo.Info) error {
	b, err := json.Marshal(versionDocJSON{Version: SchemaVersion, Info: info})
	if err != nil {
		return fmt.Errorf("render: version: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteVersion prints the build information as "field: value" lines;
// unknown fields say "unknown".
func WriteVersion(w io.Writer, info buildinfo.Info) error {
	or := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return Sanitize(s)
	}
	_, err := fmt.Fprintf(w, "version:    %s\ncommit:     %s\nbuilt:      %s\ngo:         %s\nplatform:   %s\ndirty:      %t\n",
		or(info.Version), or(info.Commit), or(info.Date), or(info.GoVersion), or(info.Platform), info.Dirty)
	return err
}
