package logging

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// nobody is the unprivileged user the tests play: the service user who can
// write the log's directory.
const nobody = 65534

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the files are chowned to another user")
	}
}

// secret makes a root-only file, the target a service user would like
// ginit to write to or chown.
func secret(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkSecret fails unless path still holds secret's content, owner and mode.
func checkSecret(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("target: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	if string(b) != "secret\n" || st.Uid != 0 || st.Gid != 0 || st.Mode&0o7777 != 0o600 {
		t.Fatalf("target %s changed: %q, owner %d:%d, mode %o", path, b, st.Uid, st.Gid, st.Mode&0o7777)
	}
}

func symlinkAs(t *testing.T, target, link string, uid int) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, uid, uid); err != nil {
		t.Fatal(err)
	}
}

// TestOpenFileRefuses: whatever a service user who can write the log's
// directory leaves at (or above) the log path, root neither writes through
// it nor chowns it, and the error names the path and the reason.
func TestOpenFileRefuses(t *testing.T) {
	needRoot(t)
	tests := []struct {
		name string
		// plant prepares dir (writable by the service user) and returns
		// the log path; target, if set, must be left unchanged.
		plant  func(t *testing.T, dir, target string) string
		target bool
		want   string // after "log file PATH: "; DIR is replaced by dir
	}{
		{"symlink", func(t *testing.T, dir, target string) string {
			symlinkAs(t, target, filepath.Join(dir, "out.log"), nobody)
			return filepath.Join(dir, "out.log")
		}, true, "is a symbolic link"},
		{"root-symlink", func(t *testing.T, dir, target string) string {
			symlinkAs(t, target, filepath.Join(dir, "out.log"), 0)
			return filepath.Join(dir, "out.log")
		}, true, "is a symbolic link"},
		{"dangling-symlink", func(t *testing.T, dir, _ string) string {
			symlinkAs(t, filepath.Join(dir, "created"), filepath.Join(dir, "out.log"), nobody)
			return filepath.Join(dir, "out.log")
		}, false, "is a symbolic link"},
		{"hard-link", func(t *testing.T, dir, target string) string {
			if err := os.Link(target, filepath.Join(dir, "out.log")); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "out.log")
		}, true, "has 2 hard links"},
		{"fifo-with-reader", func(t *testing.T, dir, _ string) string {
			p := filepath.Join(dir, "out.log")
			if err := unix.Mkfifo(p, 0o666); err != nil {
				t.Fatal(err)
			}
			r, err := os.OpenFile(p, os.O_RDONLY|unix.O_NONBLOCK, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return p
		}, false, "not a regular file (a FIFO)"},
		{"fifo", func(t *testing.T, dir, _ string) string {
			p := filepath.Join(dir, "out.log")
			if err := unix.Mkfifo(p, 0o666); err != nil {
				t.Fatal(err)
			}
			return p
		}, false, "not a regular file (a FIFO)"},
		{"directory", func(t *testing.T, dir, _ string) string {
			p := filepath.Join(dir, "out.log")
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
			return p
		}, false, "not a regular file (a directory)"},
		{"other-owner", func(t *testing.T, dir, _ string) string {
			p := filepath.Join(dir, "out.log")
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(p, 1234, 1234); err != nil {
				t.Fatal(err)
			}
			return p
		}, false, "owned by uid 1234, not by root or logfile-uid 65534"},
		{"directory-symlink", func(t *testing.T, dir, target string) string {
			// The log's directory itself swapped for a link to the
			// target's directory.
			symlinkAs(t, filepath.Dir(target), filepath.Join(dir, "sub"), nobody)
			return filepath.Join(dir, "sub", filepath.Base(target))
		}, true, "DIR/sub is a symbolic link owned by uid 65534 (only root's are followed)"},
		{"directory-symlink-new-file", func(t *testing.T, dir, target string) string {
			symlinkAs(t, filepath.Dir(target), filepath.Join(dir, "sub"), nobody)
			return filepath.Join(dir, "sub", "new.log")
		}, true, "DIR/sub is a symbolic link owned by uid 65534 (only root's are followed)"},
		{"not-a-directory", func(t *testing.T, dir, _ string) string {
			if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "file", "out.log")
		}, false, "DIR/file: not a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "svc")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dir, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			priv := filepath.Join(root, "private")
			if err := os.Mkdir(priv, 0o700); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(priv, "shadow")
			secret(t, target)
			path := tc.plant(t, dir, target)
			for _, open := range []struct {
				name string
				f    func() error
			}{
				{"OpenFile", func() error {
					f, err := OpenFile(path, 0o640, nobody, nobody)
					if err == nil {
						f.Close()
					}
					return err
				}},
				{"OpenRotating", func() error {
					r, err := OpenRotating(path, 0o640, nobody, nobody, 100, 2)
					if err == nil {
						r.Close()
					}
					return err
				}},
			} {
				err := open.f()
				want := "log file " + path + ": " + strings.ReplaceAll(tc.want, "DIR", dir)
				if err == nil || err.Error() != want {
					t.Errorf("%s error = %v, want %q", open.name, err, want)
				}
			}
			checkSecret(t, target)
			if _, err := os.Lstat(filepath.Join(dir, "created")); err == nil {
				t.Error("the dangling link's target was created")
			}
			if _, err := os.Lstat(filepath.Join(priv, "new.log")); err == nil {
				t.Error("a file was created through the directory link")
			}
		})
	}
}

// TestOpenFileOwner: a file ginit creates gets logfile-uid; an existing
// file of root's or of that user is appended to and never chowned; a link
// owned by root in the directory path is followed.
func TestOpenFileOwner(t *testing.T) {
	needRoot(t)
	root := t.TempDir()
	real := filepath.Join(root, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	symlinkAs(t, "real", filepath.Join(root, "link"), 0)
	tests := []struct {
		name     string
		existing int // owner of a file made before; -1: none
		wantUID  uint32
	}{
		{"created", -1, nobody},
		{"root-owned", 0, 0},
		{"user-owned", nobody, nobody},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.name + ".log"
			if tc.existing >= 0 {
				p := filepath.Join(real, name)
				if err := os.WriteFile(p, []byte("old\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chown(p, tc.existing, tc.existing); err != nil {
					t.Fatal(err)
				}
			}
			f, err := OpenFile(filepath.Join(root, "link", name), 0o640, nobody, nobody)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString("new\n"); err != nil {
				t.Fatal(err)
			}
			f.Close()
			var st unix.Stat_t
			if err := unix.Stat(filepath.Join(real, name), &st); err != nil {
				t.Fatal(err)
			}
			if st.Uid != tc.wantUID {
				t.Errorf("owner %d, want %d", st.Uid, tc.wantUID)
			}
			b, _ := os.ReadFile(filepath.Join(real, name))
			want := "new\n"
			if tc.existing >= 0 {
				want = "old\nnew\n"
			}
			if string(b) != want {
				t.Errorf("content %q, want %q", b, want)
			}
		})
	}
}

// TestRotatingPlantedLinks: rotation renames within the directory it first
// opened and never writes through a link: neither one planted as the
// rotated name, nor the log's directory swapped for a link elsewhere.
func TestRotatingPlantedLinks(t *testing.T) {
	needRoot(t)
	tests := []struct {
		name string
		// plant runs after the first line is written; it returns the
		// directory where the rotated files must now be.
		plant func(t *testing.T, root, dir, target string) string
	}{
		{"rotated-name", func(t *testing.T, _, dir, target string) string {
			symlinkAs(t, target, filepath.Join(dir, "out.log.1"), nobody)
			symlinkAs(t, target, filepath.Join(dir, "out.log.2"), nobody)
			return dir
		}},
		{"directory-swapped", func(t *testing.T, root, dir, target string) string {
			// The service user owns root/: it moves the log directory
			// away and puts a link to the target's directory there.
			moved := filepath.Join(root, "moved")
			if err := os.Rename(dir, moved); err != nil {
				t.Fatal(err)
			}
			symlinkAs(t, filepath.Dir(target), dir, nobody)
			return moved
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			top := t.TempDir()
			root := filepath.Join(top, "svc")
			dir := filepath.Join(root, "log")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, d := range []string{root, dir} {
				if err := os.Chown(d, nobody, nobody); err != nil {
					t.Fatal(err)
				}
			}
			priv := filepath.Join(top, "private")
			if err := os.Mkdir(priv, 0o700); err != nil {
				t.Fatal(err)
			}
			// Named like the log, so that a rotation that followed the
			// swapped directory would find it.
			target := filepath.Join(priv, "out.log")
			secret(t, target)
			r, err := OpenRotating(filepath.Join(dir, "out.log"), 0o640, nobody, nobody, 10, 2)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Write([]byte("first...\n")); err != nil {
				t.Fatal(err)
			}
			now := tc.plant(t, root, dir, target)
			for _, l := range []string{"second..\n", "third...\n"} {
				if _, err := r.Write([]byte(l)); err != nil {
					t.Fatal(err)
				}
			}
			r.Close()
			checkSecret(t, target)
			for _, name := range []string{"out.log.1", "out.log.2"} {
				if _, err := os.Lstat(filepath.Join(priv, name)); err == nil {
					t.Errorf("%s made beside the target", name)
				}
			}
			for name, want := range map[string]string{"out.log": "third...\n", "out.log.1": "second..\n", "out.log.2": "first...\n"} {
				p := filepath.Join(now, name)
				if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
					t.Errorf("%s: %v; want a regular file", p, err)
					continue
				}
				if b, _ := os.ReadFile(p); string(b) != want {
					t.Errorf("%s = %q, want %q", p, b, want)
				}
			}
		})
	}
}
