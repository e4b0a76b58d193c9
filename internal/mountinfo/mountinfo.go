// Package mountinfo reads /proc/<pid>/mountinfo: PID 1's early mounts and
// shutdown, the automounter's takeover check and the mount-point condition
// all read the same text, and its paths come from whoever mounted them, so
// there is one parser with one escape rule and fuzz target.
package mountinfo

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// Entry is one line of mountinfo (the fields ginit uses).
type Entry struct {
	Dev        string // "major:minor"
	MountPoint string
	FSType     string
	Source     string
	Options    string // per-mount options, e.g. "rw,nosuid"
}

// Read parses the calling process's /proc/self/mountinfo.
func Read() ([]Entry, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f)
}

// Parse reads mountinfo text, decoding the octal escapes (\040 for a
// space) in paths. A malformed line is an error naming its number; the
// entries before it are returned with it.
func Parse(r io.Reader) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		// id parent maj:min root mountpoint options [optional...] - fstype source superopts
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+2 >= len(f) {
			return out, fmt.Errorf("mountinfo:%d: malformed line", line)
		}
		out = append(out, Entry{
			Dev:        f[2],
			MountPoint: Unescape(f[4]),
			Options:    f[5],
			FSType:     f[sep+1],
			Source:     Unescape(f[sep+2]),
		})
	}
	return out, sc.Err()
}

// Unescape undoes mountinfo's octal escapes; a backslash not followed by
// three octal digits stays as it is.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOct(s[i+1]) && isOct(s[i+2]) && isOct(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOct(c byte) bool { return c >= '0' && c <= '7' }
