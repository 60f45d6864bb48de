package query

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
)

// servicesPath is the services database read by LookupService and
// ServiceName. Tests point it at a fixture and call resetServices.
var servicesPath = "/etc/services"

// maxServicesSize bounds how much of the services file is read.
const maxServicesSize = 4 << 20

// serviceTable maps service names (and aliases) to ports and ports to their
// primary names, per protocol ("tcp", "udp", ...).
type serviceTable struct {
	byName map[string]uint16 // "name/proto"
	byPort map[string]string // "port/proto"
}

func (t *serviceTable) lookup(name, proto string) (uint16, bool) {
	p, ok := t.byName[name+"/"+proto]
	return p, ok
}

func (t *serviceTable) name(port uint16, proto string) (string, bool) {
	n, ok := t.byPort[strconv.Itoa(int(port))+"/"+proto]
	return n, ok
}

// builtinServices is used when the services file cannot be read (minimal
// containers often lack /etc/services). It holds only the services people
// type most often in filters.
const builtinServices = `
ftp 21/tcp
ssh 22/tcp
telnet 23/tcp
smtp 25/tcp mail
domain 53/tcp
domain 53/udp
bootps 67/udp
bootpc 68/udp
http 80/tcp www
ntp 123/udp
imap2 143/tcp imap
snmp 161/udp
ldap 389/tcp
https 443/tcp
https 443/udp
submissions 465/tcp ssmtp smtps
submission 587/tcp
ldaps 636/tcp
imaps 993/tcp
pop3s 995/tcp
mysql 3306/tcp
postgresql 5432/tcp postgres
`

var (
	servicesMu    sync.Mutex
	servicesTable *serviceTable
)

// services returns the services table, reading the file on first use.
func services() *serviceTable {
	servicesMu.Lock()
	defer servicesMu.Unlock()
	if servicesTable == nil {
		servicesTable = loadServices(servicesPath)
	}
	return servicesTable
}

// resetServices forgets the cached table so that the next look-up reads
// servicesPath again. Only tests call it.
func resetServices() {
	servicesMu.Lock()
	servicesTable = nil
	servicesMu.Unlock()
}

// loadServices reads a services file, falling back to builtinServices when
// it cannot be opened.
func loadServices(path string) *serviceTable {
	f, err := os.Open(path)
	if err != nil {
		return parseServices(strings.NewReader(builtinServices))
	}
	defer f.Close()
	return parseServices(io.LimitReader(f, maxServicesSize))
}

// parseServices parses services(5) text: "name port/proto [alias...] [# comment]".
// Malformed lines are skipped, as getservent does. The first entry for a
// name or a port wins.
func parseServices(r io.Reader) *serviceTable {
	t := &serviceTable{byName: map[string]uint16{}, byPort: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Bytes()
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(string(line))
		if len(fields) < 2 {
			continue
		}
		num, proto, ok := strings.Cut(fields[1], "/")
		if !ok || proto == "" {
			continue
		}
		port, err := strconv.ParseUint(num, 10, 16)
		if err != nil {
			continue
		}
		pk := num + "/" + proto
		if num != strconv.FormatUint(port, 10) {
			pk = strconv.FormatUint(port, 10) + "/" + proto
		}
		if _, dup := t.byPort[pk]; !dup {
			t.byPort[pk] = fields[0]
		}
		names := append([]string{fields[0]}, fields[2:]...)
		for _, n := range names {
			k := n + "/" + proto
			if _, dup := t.byName[k]; !dup {
				t.byName[k] = uint16(port)
			}
		}
	}
	// A read error (an over-long line) ends the table where it stopped;
	// what was read is still useful.
	return t
}

// LookupService returns the port of a service name (or alias) for a
// protocol ("tcp", "udp"), from /etc/services, as getservbyname(3) does.
// The file is read once, on first use; if it cannot be read a small
// built-in table of common services is used. It is safe for concurrent use.
func LookupService(name, proto string) (uint16, bool) {
	return services().lookup(name, proto)
}

// ServiceName returns the primary service name of a port for a protocol
// ("tcp", "udp"), from /etc/services, as getservbyport(3) does. It shares
// LookupService's table and is safe for concurrent use.
func ServiceName(port uint16, proto string) (string, bool) {
	return services().name(port, proto)
}
