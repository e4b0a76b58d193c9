package supervise

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"ginit/init/service"
)

// nobody plays the service user who can write a directory ginit uses.
const nobody = 65534

// userDir makes a directory owned by nobody under a fresh temp dir.
func userDir(t *testing.T) (top, dir string) {
	t.Helper()
	top = t.TempDir()
	dir = filepath.Join(top, "svc")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	return top, dir
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

// listenAt binds a socket of someone else's at path.
func listenAt(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	t.Cleanup(func() { l.Close() })
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return st.Ino
}

// TestSocketListenPlanted: what a service user who can write the socket's
// directory plants there is neither replaced, followed nor chowned.
func TestSocketListenPlanted(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to own files as another user")
	}
	tests := []struct {
		name string
		// plant returns the socket-listen path and a file that must keep
		// its inode.
		plant func(t *testing.T, top, dir string) (path, keep string)
		want  string // after "socket-listen PATH: "; DIR is the user's directory
	}{
		{"symlink", func(t *testing.T, top, dir string) (string, string) {
			other := filepath.Join(top, "other.sock")
			listenAt(t, other)
			symlinkAs(t, other, filepath.Join(dir, "svc.sock"), nobody)
			return filepath.Join(dir, "svc.sock"), other
		}, "exists and is not a socket"},
		{"directory-symlink", func(t *testing.T, top, dir string) (string, string) {
			// Another daemon's socket in a directory of root's, reached
			// through a link the user made.
			priv := filepath.Join(top, "private")
			if err := os.Mkdir(priv, 0o700); err != nil {
				t.Fatal(err)
			}
			other := filepath.Join(priv, "svc.sock")
			listenAt(t, other)
			symlinkAs(t, priv, filepath.Join(dir, "sub"), nobody)
			return filepath.Join(dir, "sub", "svc.sock"), other
		}, "DIR/sub is a symbolic link owned by uid 65534 (only root's are followed)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			top, dir := userDir(t)
			path, keep := tc.plant(t, top, dir)
			ino := inode(t, keep)
			s := newSup(t, "")
			d := desc("planted")
			d.ExtMut().SocketListen = path
			d.SocketUID, d.SocketGID = nobody, nobody
			_, err := s.Spawn(service.SpawnRequest{Desc: d, Argv: []string{"true"}}, newRecorder())
			want := "socket-listen " + path + ": " + strings.ReplaceAll(tc.want, "DIR", dir)
			if err == nil || err.Error() != want {
				t.Fatalf("Spawn error = %v, want %q", err, want)
			}
			var st unix.Stat_t
			if err := unix.Lstat(keep, &st); err != nil || st.Ino != ino || st.Uid != 0 {
				t.Fatalf("%s replaced or chowned: %v, inode %d (was %d), uid %d", keep, err, st.Ino, ino, st.Uid)
			}
		})
	}
}

// TestSocketListenReleaseLeavesOthers: Release removes the socket ginit
// made, and not a file put at its path since.
func TestSocketListenReleaseLeavesOthers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to own files as another user")
	}
	for _, swap := range []bool{false, true} {
		// A subtest each: one reaper at a time (see newSup).
		t.Run(map[bool]string{false: "ours", true: "swapped"}[swap], func(t *testing.T) {
			_, dir := userDir(t)
			log := &testLogger{}
			s := newSupConfig(t, Config{Logger: log})
			d := desc("rel")
			d.ExtMut().SocketListen = filepath.Join(dir, "svc.sock")
			r := newRecorder()
			spawn(t, s, d, r, "true")
			r.next(t, "exited")
			if swap {
				if err := os.Remove(d.Ext().SocketListen); err != nil {
					t.Fatal(err)
				}
				listenAt(t, d.Ext().SocketListen)
			}
			s.Release(d)
			_, err := os.Lstat(d.Ext().SocketListen)
			if swap {
				if err != nil {
					t.Fatalf("the socket put in ginit's place was removed: %v", err)
				}
				log.waitFor(t, "socket-listen "+d.Ext().SocketListen+": replaced by another file; left in place")
			} else if !os.IsNotExist(err) {
				t.Fatalf("socket left after Release: %v", err)
			}
		})
	}
}

// TestNotifyDirRefused: the notify sockets' directory must be ginit's
// alone; one others can write (or a link to one) is refused.
func TestNotifyDirRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to own files as another user")
	}
	tests := []struct {
		name  string
		plant func(t *testing.T, run string) string // returns the expected error after "notify socket PATH: "
	}{
		{"world-writable", func(t *testing.T, run string) string {
			dir := filepath.Join(run, "notify")
			if err := os.Mkdir(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			return "directory " + dir + " is owned by uid 0 with mode 0777, not ginit's alone"
		}},
		{"user-owned", func(t *testing.T, run string) string {
			dir := filepath.Join(run, "notify")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dir, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			return "directory " + dir + " is owned by uid 65534 with mode 0755, not ginit's alone"
		}},
		{"user-symlink", func(t *testing.T, run string) string {
			elsewhere := filepath.Join(run, "elsewhere")
			if err := os.Mkdir(elsewhere, 0o755); err != nil {
				t.Fatal(err)
			}
			symlinkAs(t, elsewhere, filepath.Join(run, "notify"), nobody)
			return filepath.Join(run, "notify") + " is a symbolic link owned by uid 65534 (only root's are followed)"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := t.TempDir()
			want := tc.plant(t, run)
			s := newSupConfig(t, Config{RuntimeDir: run})
			_, err := s.Spawn(service.SpawnRequest{Desc: notifyDesc("n"), Argv: []string{"true"}}, newRecorder())
			want = "notify socket " + filepath.Join(run, "notify", "n") + ": " + want
			if err == nil || err.Error() != want {
				t.Fatalf("Spawn error = %v, want %q", err, want)
			}
			if _, err := os.Lstat(filepath.Join(run, "elsewhere", "n")); err == nil {
				t.Fatal("socket made through the link")
			}
		})
	}
}
