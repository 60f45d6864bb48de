package procnet

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sockscope/sockscope/internal/sockdiag"
)

const unixHeader = "Num       RefCount Protocol Flags    Type St Inode Path\n"

func collectUnix(t *testing.T, text string) ([]sockdiag.UnixRecord, error) {
	t.Helper()
	var got []sockdiag.UnixRecord
	err := ParseUnix(strings.NewReader(text), func(r *sockdiag.UnixRecord) error {
		got = append(got, *r)
		return nil
	})
	return got, err
}

func urec(typ, state uint8, inode uint32, name string) sockdiag.UnixRecord {
	return sockdiag.UnixRecord{Type: typ, State: state, Inode: inode, Name: name}
}

// TestParseUnixFixture decodes /proc/net/unix captured on Linux 6.18 with a
// stream listener at a path with a space (and a client queued on it, not
// accepted), an abstract listener whose name has an inner NUL, a datagram
// socket at a path, a socketpair, an abstract seqpacket listener, and a
// listener whose path contains a newline.
func TestParseUnixFixture(t *testing.T) {
	got, err := collectUnix(t, readFixture(t, "unix.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []sockdiag.UnixRecord{
		urec(1, tcpEstablished, 8370, ""),
		urec(1, tcpSynSent, 0, "/tmp/sockscope fixture/with space.sock"), // the embryo
		urec(1, tcpListen, 8365, "/tmp/sockscope fixture/with space.sock"),
		urec(2, tcpClose, 8368, "/tmp/sockscope fixture/dg"),
		urec(1, tcpListen, 8372, "/tmp/sockscope fixture/a\nb"),
		urec(1, tcpEstablished, 8366, ""),
		urec(1, tcpEstablished, 8369, ""),
		urec(5, tcpListen, 8371, "@sockscope-seq"),
		urec(1, tcpListen, 8367, "@sockscope@abstract"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseUnix -want +got:\n%s", diff)
	}
}

func TestParseUnixLines(t *testing.T) {
	const pfx = "0000000000000000: 00000002 00000000 00000000 0001 01  4242"
	tests := []struct {
		name string
		text string
		want []sockdiag.UnixRecord
	}{
		{"no sockets", "", nil},
		{"unnamed", pfx + "\n", []sockdiag.UnixRecord{urec(1, tcpClose, 4242, "")}},
		{"no final newline", pfx + " /x", []sockdiag.UnixRecord{urec(1, tcpClose, 4242, "/x")}},
		{"leading and trailing spaces kept", pfx + "   odd name  \n", []sockdiag.UnixRecord{urec(1, tcpClose, 4242, "  odd name  ")}},
		{"single-space name", pfx + "  \n", []sockdiag.UnixRecord{urec(1, tcpClose, 4242, " ")}},
		{"relative path that looks abstract", pfx + " @rel\n", []sockdiag.UnixRecord{urec(1, tcpClose, 4242, "@rel")}},
		{"not UTF-8", pfx + " /tmp/\xff\xfe\n", []sockdiag.UnixRecord{urec(1, tcpClose, 4242, "/tmp/\xff\xfe")}},
		{"path ending in a newline", pfx + " /tmp/a\n\n" + pfx + "\n", []sockdiag.UnixRecord{urec(1, tcpClose, 4242, "/tmp/a\n"), urec(1, tcpClose, 4242, "")}},
		{"path starting with a newline", pfx + " \nrest\n", []sockdiag.UnixRecord{urec(1, tcpClose, 4242, "\nrest")}},
		{"two newlines", pfx + " a\nb c\nd\n", []sockdiag.UnixRecord{urec(1, tcpClose, 4242, "a\nb c\nd")}},
		{"disconnecting embryo", "0000000000000000: 00000002 00000000 00000000 0001 04     0 /s\n", []sockdiag.UnixRecord{urec(1, tcpClose, 0, "/s")}},
		{"listening flag wins over St", "0000000000000000: 00000002 00000000 00010000 0005 01  7\n", []sockdiag.UnixRecord{urec(5, tcpListen, 7, "")}},
		{"longest name", pfx + " @" + strings.Repeat("n", 107) + "\n", []sockdiag.UnixRecord{urec(1, tcpClose, 4242, "@"+strings.Repeat("n", 107))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collectUnix(t, unixHeader+tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func TestParseUnixMalformed(t *testing.T) {
	const good = "0000000000000000: 00000002 00000000 00000000 0001 01  4242"
	tests := []struct {
		name      string
		text      string
		wantLine  int
		wantField string
		wantErr   error
	}{
		{"empty input", "", 1, "header", errHeader},
		{"inet header", "  sl  local_address rem_address   st\n", 1, "header", errHeader},
		{"too few columns, nothing to continue", unixHeader + "0000000000000000: 00000002\n", 2, "line", errColumns},
		{"garbage after an unnamed socket", unixHeader + good + "\ngarbage\n", 3, "line", errColumns},
		{"continuation beyond sun_path", unixHeader + good + " /" + strings.Repeat("a", 100) + "\n" + strings.Repeat("b", 10) + "\n", 3, "line", errColumns},
		{"Num without colon", unixHeader + strings.Replace(good, "0000000000000000:", "0000000000000000 ", 1) + "\n", 2, "Num", errSyntax},
		{"Num not hex", unixHeader + strings.Replace(good, "0000000000000000:", "000000000000000g:", 1) + "\n", 2, "Num", errSyntax},
		{"RefCount not hex", unixHeader + strings.Replace(good, "00000002", "0000000x", 1) + "\n", 2, "RefCount", errSyntax},
		{"Flags too wide", unixHeader + strings.Replace(good, "00000000 0001", "000000000 0001", 1) + "\n", 2, "Flags", errSyntax},
		{"Type too wide", unixHeader + strings.Replace(good, " 0001 ", " 00001 ", 1) + "\n", 2, "Type", errSyntax},
		{"Type out of range", unixHeader + strings.Replace(good, " 0001 ", " 0100 ", 1) + "\n", 2, "Type", errRange},
		{"St 0", unixHeader + strings.Replace(good, " 01 ", " 00 ", 1) + "\n", 2, "St", errRange},
		{"St 5", unixHeader + strings.Replace(good, " 01 ", " 05 ", 1) + "\n", 2, "St", errRange},
		{"Inode not decimal", unixHeader + strings.Replace(good, "4242", "42a2", 1) + "\n", 2, "Inode", errSyntax},
		{"Inode too large", unixHeader + strings.Replace(good, "4242", "99999999999", 1) + "\n", 2, "Inode", errRange},
		{"tab before the path", unixHeader + good + "\t/x\n", 2, "Path", errTrailing},
		{"name longer than sun_path", unixHeader + good + " /" + strings.Repeat("a", 108) + "\n", 2, "Path", errNameLength},
		{"line too long", unixHeader + good + "\n" + strings.Repeat("x", maxLine+1) + "\n", 3, "line", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := collectUnix(t, tt.text)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
			if pe.Line != tt.wantLine || pe.Field != tt.wantField {
				t.Errorf("error at line %d field %q, want line %d field %q (%v)", pe.Line, pe.Field, tt.wantLine, tt.wantField, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestParseUnixCallbackError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := ParseUnix(strings.NewReader(readFixture(t, "unix.txt")), func(*sockdiag.UnixRecord) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Fatalf("err = %v after %d calls, want the callback's error unchanged after 3", err, n)
	}
}
