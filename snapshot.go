package sockscope

import "time"

// Snapshot is the result of one collection. Sockets are sorted by
// (netns, proto, local port, local address, state, remote, inode) so that
// output is stable.
type Snapshot struct {
	Taken   time.Time
	Sockets []*Socket
	NetNS   []*NetNS
	// Source is where the sockets were read: SourceNetlink (sock_diag,
	// with /proc/net for what it cannot answer, said in Warnings) or
	// SourceProc.
	Source Source
	// Warnings lists what could not be seen (permission, processes that
	// did not answer in time, namespaces that could not be entered). They
	// are normal.
	Warnings []Warning
	// HiddenHolders counts sockets whose holders could not be determined
	// because the holder scan was partial: some processes could not be
	// inspected or did not answer in time, or the scan stopped at its
	// time limit or was cancelled. A Warning names the cause (except
	// cancellation, which the caller knows of).
	HiddenHolders int
	// ExitedProcesses counts processes that exited while the holder scan
	// read them. They hide nothing (their sockets closed with them, or are
	// held by others, who are shown), so they are not a Warning.
	ExitedProcesses int
}

// Warning is one partial-result notice.
type Warning struct {
	// Kind says what was not seen, as a stable machine-readable tag.
	Kind WarningKind
	// Count is how many things it covers.
	Count int
	// Msg is one line for people.
	Msg string
}

// String returns the warning's one-line text.
func (w Warning) String() string { return w.Msg }

// Diff compares two snapshots by socket key. Added are in b but not a,
// Removed in a but not b, Changed in both with a different state or queues.
func Diff(a, b *Snapshot) (added, removed, changed []*Socket) {
	// Most sockets have a cookie: they are matched by (cookie, netns), two
	// words, the rest by their whole Key. At 100k sockets a map of Keys
	// (hashing two addresses each) was a fifth of a watch refresh.
	type cookieKey struct{ cookie, ns uint64 }
	byCookie := make(map[cookieKey]int32, len(a.Sockets))
	var byKey map[Key]int32
	for i, s := range a.Sockets {
		if s.Cookie != 0 {
			byCookie[cookieKey{s.Cookie, socketNSInode(s)}] = int32(i)
			continue
		}
		if byKey == nil {
			byKey = make(map[Key]int32)
		}
		byKey[s.Key()] = int32(i)
	}
	matched := make([]bool, len(a.Sockets))
	for _, s := range b.Sockets {
		var i int32
		var ok bool
		if s.Cookie != 0 {
			i, ok = byCookie[cookieKey{s.Cookie, socketNSInode(s)}]
		} else if byKey != nil {
			i, ok = byKey[s.Key()]
		}
		if !ok || matched[i] {
			added = append(added, s)
			continue
		}
		matched[i] = true
		o := a.Sockets[i]
		if o.State != s.State || o.Remote != s.Remote || o.RecvQ != s.RecvQ || o.SendQ != s.SendQ {
			changed = append(changed, s)
		}
	}
	for i, s := range a.Sockets {
		if !matched[i] {
			removed = append(removed, s)
		}
	}
	return added, removed, changed
}

// socketNSInode is the inode of the socket's namespace, 0 if unknown.
func socketNSInode(s *Socket) uint64 {
	if s.NetNS == nil {
		return 0
	}
	return s.NetNS.Inode
}

// WarningKind is the machine-readable tag of a Warning. Its values are the
// strings JSON output carries as "kind".
type WarningKind string

// Warning kinds.
const (
	// WarnPermission: some sockets' holders are hidden because processes
	// could not be inspected.
	WarnPermission WarningKind = "permission"
	// WarnNetNS: namespaces could not be listed, entered or read.
	WarnNetNS WarningKind = "netns"
	// WarnTimeout: the holder scan, or some processes in it, did not
	// answer within the time bound.
	WarnTimeout WarningKind = "timeout"
	// WarnSource: sock_diag was unavailable and /proc/net was read instead.
	WarnSource WarningKind = "source"
	// WarnHolders: the holder scan failed, or some processes could not be
	// read for another reason than permission.
	WarnHolders WarningKind = "holders"
)

// String returns the tag.
func (k WarningKind) String() string { return string(k) }

// MarshalText returns the tag.
func (k WarningKind) MarshalText() ([]byte, error) { return []byte(k), nil }
