package initns

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestLogFileSymlinkRefused: a run-as service whose log directory its user
// owns swaps its log, between runs, for a link to a root-only file (at the
// log's name, or at the directory's). ginit, as dinit does when it cannot
// open a log file, does not start the service: the file is left as it was
// (content and owner) and the status and ginit's log say why.
func TestLogFileSymlinkRefused(t *testing.T) {
	const nobody = 65534
	tests := []struct {
		name  string
		plant func(t *testing.T, logs, secret string) // as the service user
		want  string                                  // after "log file LOG: "; DIR is the log directory
	}{
		{"log-link", func(t *testing.T, logs, secret string) {
			p := filepath.Join(logs, "d", "svc.log")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			lsymlink(t, secret, p, nobody)
		}, "is a symbolic link"},
		{"directory-link", func(t *testing.T, logs, secret string) {
			d := filepath.Join(logs, "d")
			if err := os.Rename(d, filepath.Join(logs, "d.old")); err != nil {
				t.Fatal(err)
			}
			lsymlink(t, filepath.Dir(secret), d, nobody)
		}, "DIR/d is a symbolic link owned by uid 65534 (only root's are followed)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := newInstance(t, map[string]string{
				"boot": "type = internal\n",
				"svc": "type = scripted\nrun-as = nobody\nworking-dir = /\nlogfile = @DIR@/logs/d/svc.log\n" +
					"logfile-uid = nobody\nlogfile-permissions = 0600\ncommand = /bin/echo hello\n",
			})
			logs := filepath.Join(in.dir, "logs")
			for _, d := range []string{logs, filepath.Join(logs, "d")} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Chown(d, nobody, nobody); err != nil {
					t.Fatal(err)
				}
			}
			priv := filepath.Join(in.dir, "private")
			if err := os.Mkdir(priv, 0o700); err != nil {
				t.Fatal(err)
			}
			// Named like the log, for the directory link.
			secret := filepath.Join(priv, "svc.log")
			if err := os.WriteFile(secret, []byte("secret\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			log := filepath.Join(logs, "d", "svc.log")

			in.mustCtl("start", "svc")
			var st syscall.Stat_t
			if err := syscall.Stat(log, &st); err != nil || st.Uid != nobody {
				t.Fatalf("first run's log: %v, owner %d; want one of nobody's", err, st.Uid)
			}
			in.mustCtl("stop", "svc")

			tc.plant(t, logs, secret)
			r := in.ctl("start", "svc")
			reason := "log file " + log + ": " + strings.ReplaceAll(tc.want, "DIR", logs)
			if r.code == 0 {
				t.Fatalf("start with the planted link succeeded: %s", r)
			}
			if b, err := os.ReadFile(secret); err != nil || string(b) != "secret\n" {
				t.Fatalf("root-only file now %q (%v)", b, err)
			}
			if err := syscall.Stat(secret, &st); err != nil || st.Uid != 0 || st.Gid != 0 || st.Mode&0o7777 != 0o600 {
				t.Fatalf("root-only file: %v, owner %d:%d, mode %o", err, st.Uid, st.Gid, st.Mode&0o7777)
			}
			if status := in.ctl("status", "svc").out; !strings.Contains(status, reason) {
				t.Errorf("status does not say %q:\n%s", reason, status)
			}
			if text, _ := os.ReadFile(in.logf); !strings.Contains(string(text), "service 'svc': "+reason) {
				t.Errorf("ginit's log does not say %q:\n%s", reason, text)
			}
		})
	}
}

func lsymlink(t *testing.T, target, link string, uid int) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, uid, uid); err != nil {
		t.Fatal(err)
	}
}
