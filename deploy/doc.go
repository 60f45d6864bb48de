// Package deploy holds no code: its directory keeps the deployment files
// (kubernetes/: a DaemonSet running sockscope serve on every node, its
// Service, ServiceMonitor and Grafana dashboard), and its tests check them
// against the sockscope binary: the manifests parse and agree with each
// other, grant exactly what docs/security.md says the binary needs, pass
// flags the serve command accepts, probe a path serve answers, and the
// dashboard queries only metrics serve exposes.
package deploy
