package loader

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"ginit/init/logging"
)

// Limits on what loading one description may read and produce. Real
// descriptions are a few hundred bytes; the limits keep a hostile or broken
// one (a named pipe, /dev/zero, a substitution that multiplies, includes
// that fan out) from stalling or exhausting ginit, which may be PID 1.
// docs/ginit-service.5.md states them.
const (
	// MaxFileSize bounds one file: a service file, an @include'd
	// fragment, an env-file (also ginit -e).
	MaxFileSize = 1 << 20
	// maxDescRead bounds the bytes of every file one description reads
	// (its own, @include'd ones, env-files) together.
	maxDescRead = 4 << 20
	// maxDescFiles bounds how many files and .d directories one
	// description reads (an @include of a small file can fan out).
	maxDescFiles = 256
	// maxSubstBytes and maxSubstWords bound what variable substitution
	// produces in one description ($/VAR multiplies a word list).
	maxSubstBytes = 1 << 20
	maxSubstWords = 1 << 16
	// maxLines bounds the settings (logical lines) of one description,
	// each of which costs memory however short it is.
	maxLines = 1 << 16
	// maxErrors bounds the errors reported for one description.
	maxErrors = 100
)

// limitError is a problem the caller can match with errors.Is on is.
type limitError struct {
	msg string
	is  error
}

func (e *limitError) Error() string        { return e.msg }
func (e *limitError) Is(target error) bool { return target == e.is }

// budget is what loading one description may still read and substitute.
// Each load has its own, so a Loader stays safe for concurrent use.
type budget struct {
	read       int64
	files      int
	lines      int
	substBytes int
	substWords int
	// strs, when set, holds every word read so far in a load of many
	// descriptions (LoadAll): the same command, path or user in a
	// thousand files is then one string, not a thousand.
	strs map[string]string
}

// str is w as a string: the one already in b.strs if it holds it.
func (b *budget) str(w []byte) string {
	if b.strs == nil {
		return string(w)
	}
	if s, ok := b.strs[string(w)]; ok {
		return s
	}
	s := string(w)
	b.strs[s] = s
	return s
}

func newBudget() *budget {
	return &budget{read: maxDescRead, files: maxDescFiles, lines: maxLines, substBytes: maxSubstBytes, substWords: maxSubstWords}
}

// openFile counts one more file or directory read.
func (b *budget) openFile() error {
	if b.files <= 0 {
		return &limitError{fmt.Sprintf("reads more than %d files and .d directories", maxDescFiles), ErrTooLarge}
	}
	b.files--
	return nil
}

// line counts one more setting line.
func (b *budget) line() error {
	if b.lines <= 0 {
		return &limitError{fmt.Sprintf("more than %d settings in this description", maxLines), ErrTooLarge}
	}
	b.lines--
	return nil
}

// subst takes n bytes and w words of substitution output.
func (b *budget) subst(n, w int) error {
	if n > b.substBytes {
		return &limitError{fmt.Sprintf("substitution produces more than %s in this description", sizeText(maxSubstBytes)), ErrTooLarge}
	}
	if w > b.substWords {
		return &limitError{fmt.Sprintf("substitution produces more than %d words in this description", maxSubstWords), ErrTooLarge}
	}
	b.substBytes -= n
	b.substWords -= w
	return nil
}

func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// fileKind names what a non-regular file is, for errors.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a plain file"
}

func notRegular(m fs.FileMode) error {
	return &limitError{"not a regular file (" + fileKind(m) + ")", ErrNotRegular}
}

// bare drops the path of an *fs.PathError: callers name the file once
// themselves.
func bare(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// openRegular opens a regular file for reading and refuses anything else
// before reading from it: a named pipe blocks its reader until a writer
// comes, a device such as /dev/zero never ends. A stat first keeps devices
// from being opened at all; the open is non-blocking and checked again with
// fstat, so a file swapped for a FIFO in between blocks nothing either.
// Errors do not repeat the path.
func openRegular(path string) (*os.File, fs.FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, bare(err)
	}
	if !st.Mode().IsRegular() {
		return nil, nil, notRegular(st.Mode())
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, bare(err)
	}
	if st, err = f.Stat(); err != nil {
		f.Close()
		return nil, nil, bare(err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, notRegular(st.Mode())
	}
	return f, st, nil
}

// OpenRegular is openRegular for the loaders beside this one (systemd
// units, init scripts): the same refusal of anything but a regular file,
// without blocking on a FIFO swapped in after the stat. Errors do not
// repeat the path.
func OpenRegular(path string) (*os.File, fs.FileInfo, error) { return openRegular(path) }

// openEnv opens an env-file. Root reads it for a service whose user may be
// able to write its directory, so unlike descriptions (configuration, where
// an admin's links are the norm) only root's links are followed: a link the
// service user planted to /etc/shadow would hand them its lines as
// variables.
func openEnv(path string) (*os.File, fs.FileInfo, error) {
	f, err := logging.OpenRegular(path)
	if err != nil {
		if errors.Is(err, logging.ErrNotRegular) {
			// Named in the loader's words; the stat is only for the message.
			if st, e := os.Stat(path); e == nil {
				return nil, nil, notRegular(st.Mode())
			}
			err = &limitError{strings.TrimPrefix(err.Error(), path+": "), ErrNotRegular}
		}
		return nil, nil, pathless{err, path}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, bare(err)
	}
	return f, st, nil
}

// pathless is err without a leading "path: ", which the caller adds.
type pathless struct {
	err  error
	path string
}

func (e pathless) Error() string { return strings.TrimPrefix(e.err.Error(), e.path+": ") }
func (e pathless) Unwrap() error { return e.err }

// readFile reads a whole regular file of at most MaxFileSize bytes within
// what b has left; found says that the caller's stat of path has just
// found it regular (find), so that it is not asked again. It is
// openRegular's check on a bare descriptor: an os.File cost a poller
// registration and a finalizer per description, and a short read of a
// regular file is its end, which saves the read that sees EOF; a
// thousand services were 8000 system calls, now 5000. Errors do not
// repeat the path.
func (b *budget) readFile(path string, found bool) ([]byte, error) {
	if err := b.openFile(); err != nil {
		return nil, err
	}
	if !found {
		st, err := os.Stat(path)
		if err != nil {
			return nil, bare(err)
		}
		if !st.Mode().IsRegular() {
			return nil, notRegular(st.Mode())
		}
	}
	var fd int
	var err error
	for {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, notRegular(modeType(st.Mode))
	}
	if err := b.tooBig(st.Size); err != nil {
		return nil, err
	}
	limit := min(int64(MaxFileSize), b.read)
	buf, err := readUpTo(regularFD(fd), min(st.Size, limit)+1, limit+1)
	if err != nil {
		return nil, err
	}
	if err := b.tooBig(int64(len(buf))); err != nil {
		return nil, err
	}
	b.read -= int64(len(buf))
	return buf, nil
}

// regularFD reads a regular file's descriptor; a read shorter than asked
// for is the file's end (io.EOF with it).
type regularFD int

func (fd regularFD) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(fd), p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, err
		case n < len(p):
			return n, io.EOF
		}
		return n, nil
	}
}

// modeType is the file type of a stat(2) mode, for notRegular.
func modeType(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFLNK:
		return fs.ModeSymlink
	}
	return fs.ModeIrregular
}

// tooBig refuses a file of n bytes: past MaxFileSize, or past what the
// description's files have left.
func (b *budget) tooBig(n int64) error {
	if n > MaxFileSize {
		return &limitError{"larger than " + sizeText(MaxFileSize), ErrTooLarge}
	}
	if n > b.read {
		return &limitError{fmt.Sprintf("the files of this description are larger than %s together", sizeText(maxDescRead)), ErrTooLarge}
	}
	return nil
}

// readWith is readFile with the file opened by open (env-files).
func (b *budget) readWith(path string, open func(string) (*os.File, fs.FileInfo, error)) ([]byte, error) {
	if err := b.openFile(); err != nil {
		return nil, err
	}
	f, st, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := b.tooBig(st.Size()); err != nil {
		return nil, err
	}
	// The file may grow after the fstat: read one byte past the limit.
	limit := min(int64(MaxFileSize), b.read)
	buf, err := readUpTo(f, min(st.Size(), limit)+1, limit+1)
	if err != nil {
		return nil, bare(err)
	}
	if err := b.tooBig(int64(len(buf))); err != nil {
		return nil, err
	}
	b.read -= int64(len(buf))
	return buf, nil
}

// readUpTo reads r to its end or to limit bytes, into a buffer of size
// bytes to begin with: a file whose fstat size holds reads with one
// allocation (bytes.Buffer.ReadFrom keeps 512 bytes spare, so it doubled
// the buffer of every small description).
func readUpTo(r io.Reader, size, limit int64) ([]byte, error) {
	buf := make([]byte, 0, size)
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, int(min(max(int64(cap(buf)), 512), limit-int64(len(buf)))))
		}
		n, err := r.Read(buf[len(buf):int(min(int64(cap(buf)), limit))])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// readDir lists a directory without following it into a named pipe: with
// O_DIRECTORY the open fails on anything but a directory, at once.
func (b *budget) readDir(path string) ([]fs.DirEntry, error) {
	if err := b.openFile(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, bare(err)
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	return ents, bare(err)
}
