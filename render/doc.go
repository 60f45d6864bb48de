// Package render writes sockscope's results for people and programs: aligned
// tables for a terminal (optionally coloured), stable tab-separated records
// for a pipe, and JSON documents (docs/json.md).
//
// It only formats. What to show is decided elsewhere: package views builds
// the port-first view of a snapshot, the root package collects sockets. Every
// untrusted string (process names, arguments, paths, namespace and container
// names) is escaped on the way out: Sanitize and AppendSanitized for text,
// the JSON encoder for documents.
//
// The socket object of the JSON documents is written by a hand-made encoder
// (AppendSocketJSON): at 100k sockets encoding/json's reflection dominated
// the -o json run. The small documents around it are built from tagged
// structs with encoding/json. SchemaVersion is their version.
//
// Output is pinned by golden files in testdata (go test ./render -update
// rewrites them) built from a fixed, hand-made snapshot.
package render
