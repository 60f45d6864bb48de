package netns

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// A mountinfo captured on Linux 6.18 with two `ip netns` names, a docker
// sandbox mount, a mount namespace bind mount and a path with a space.
const mountinfoFixture = `22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
24 22 0:22 / /run rw,nosuid,nodev shared:13 - tmpfs tmpfs rw,size=400000k,mode=755
43 24 0:4 net:[4026532177] /run/netns/blue rw shared:2 - nsfs nsfs rw
44 24 0:4 net:[4026532177] /var/run/netns/blue rw shared:2 - nsfs nsfs rw
45 24 0:4 net:[4026532300] /run/netns/red rw shared:2 - nsfs nsfs rw
46 24 0:4 net:[4026532412] /run/docker/netns/1a2b3c4d5e6f rw - nsfs nsfs rw
47 24 0:4 mnt:[4026532500] /run/mntns/x rw - nsfs nsfs rw
48 24 0:4 net:[4026532600] /run/odd\040name rw shared:7 master:3 - nsfs nsfs rw
49 22 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw
`

func TestParseMountinfo(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []nsMount
		wantErr bool
	}{
		{
			name: "fixture",
			in:   mountinfoFixture,
			want: []nsMount{
				{4026532177, "/run/netns/blue"},
				{4026532177, "/var/run/netns/blue"},
				{4026532300, "/run/netns/red"},
				{4026532412, "/run/docker/netns/1a2b3c4d5e6f"},
				{4026532600, "/run/odd name"},
			},
		},
		{name: "empty", in: ""},
		{name: "no nsfs", in: "22 1 253:1 / / rw - ext4 /dev/vda1 rw\n"},
		{
			name:    "short line skipped, rest kept",
			in:      "garbage\n45 24 0:4 net:[7] /run/netns/red rw - nsfs nsfs rw\n",
			want:    []nsMount{{7, "/run/netns/red"}},
			wantErr: true,
		},
		{name: "no separator", in: "45 24 0:4 net:[7] /run/netns/red rw shared:2 nsfs nsfs rw\n", wantErr: true},
		{name: "nothing after separator", in: "45 24 0:4 net:[7] /run/netns/red rw -\n", wantErr: true},
		{name: "bad inode", in: "45 24 0:4 net:[x7] /a rw - nsfs nsfs rw\n", wantErr: true},
		{name: "inode overflow", in: "45 24 0:4 net:[99999999999999999999999] /a rw - nsfs nsfs rw\n", wantErr: true},
		{name: "unterminated root", in: "45 24 0:4 net:[7 /a rw - nsfs nsfs rw\n", wantErr: true},
		{name: "truncated escape", in: "45 24 0:4 net:[7] /a\\04 rw - nsfs nsfs rw\n", wantErr: true},
		{name: "bad escape", in: "45 24 0:4 net:[7] /a\\999 rw - nsfs nsfs rw\n", wantErr: true},
		{name: "backslash escape", in: "45 24 0:4 net:[7] /a\\134b rw - nsfs nsfs rw\n", want: []nsMount{{7, `/a\b`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMountinfo(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseMountinfo() error = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, errMountinfo) {
				t.Errorf("error %v does not wrap errMountinfo", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseMountinfo() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseMountinfoReadError(t *testing.T) {
	_, err := parseMountinfo(iotest.ErrReader(errors.New("boom")))
	if err == nil {
		t.Fatal("parseMountinfo(failing reader) = nil error")
	}
}

func TestParseMountinfoLongLine(t *testing.T) {
	in := "1 2 0:4 net:[1] /" + strings.Repeat("a", maxMountinfoLine) + " rw - nsfs nsfs rw\n"
	if _, err := parseMountinfo(strings.NewReader(in)); err == nil {
		t.Fatal("parseMountinfo(over-long line) = nil error")
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add(mountinfoFixture)
	f.Add("45 24 0:4 net:[7] /a\\040b rw - nsfs nsfs rw\n")
	f.Add("- - - - - - - nsfs")
	f.Add("1 2 3 net:[ x y - nsfs")
	f.Fuzz(func(t *testing.T, in string) {
		got, _ := parseMountinfo(strings.NewReader(in))
		for _, m := range got {
			if m.MountPoint == "" {
				t.Errorf("parseMountinfo(%q): empty mount point in %+v", in, m)
			}
		}
	})
}

func BenchmarkParseMountinfo(b *testing.B) {
	in := strings.Repeat(mountinfoFixture, 20)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseMountinfo(strings.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}
