package redirect

import (
	"strings"
	"testing"
)

func TestCgroup2Root(t *testing.T) {
	hybrid := `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	unified := `29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
`
	bind := `50 23 0:26 /kubepods /mnt/sub rw - cgroup2 cgroup2 rw
51 23 0:26 / /mnt/with\040space rw - cgroup2 cgroup2 rw
`
	for _, tc := range []struct{ in, want string }{
		{hybrid, "/sys/fs/cgroup/unified"},
		{unified, "/sys/fs/cgroup"},
		{bind, "/mnt/with space"},
	} {
		got, err := cgroup2Root(strings.NewReader(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("cgroup2Root = %q, %v; want %q", got, err, tc.want)
		}
	}
	if _, err := cgroup2Root(strings.NewReader("32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n")); err == nil {
		t.Error("no cgroup2 mount: want an error")
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"": Auto, "auto": Auto, "ON": On, "true": On, "off": Off, "0": Off} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseMode("sometimes"); err == nil {
		t.Error("ParseMode(sometimes): want an error")
	}
}

func TestOffLoadsNothing(t *testing.T) {
	r, err := Start(Options{Mode: Off, Ports: []uint16{3500}})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Status()
	if s.Active || !strings.Contains(s.Summary(), "off") || s.Extended()["ebpfRedirect"] != s.Summary() {
		t.Fatalf("status %+v", s)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// FuzzCgroup2Root: any mountinfo text gives a path or an error, never a
// panic, and a found path never carries an escape sequence's backslash when
// the input had none.
func FuzzCgroup2Root(f *testing.F) {
	f.Add("41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n")
	f.Add("51 23 0:26 / /mnt/with\\040space rw - cgroup2 cgroup2 rw\n")
	f.Add("x - cgroup2\n1 2 3 / \\0 - cgroup2 y\n")
	f.Fuzz(func(t *testing.T, in string) {
		p, err := cgroup2Root(strings.NewReader(in))
		if err == nil && p == "" {
			t.Fatal("empty path without an error")
		}
		if err == nil && !strings.Contains(in, `\`) && strings.Contains(p, `\`) {
			t.Fatalf("backslash invented: %q", p)
		}
	})
}
