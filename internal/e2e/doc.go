// Package e2e holds end-to-end reliability tests: they build the sockscope
// binary and run it as a subprocess, under socket and process churn, as an
// unprivileged user, against processes and sockets with hostile names, and
// with its output cut short. It has no non-test code.
package e2e
