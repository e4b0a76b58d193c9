package ctl

import (
	"context"
	"fmt"
	"io"

	"os"
	"os/signal"

	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"ginit/init/control"
	"ginit/internal/i18n"
)

// ginitctl attach SERVICE: the caller's terminal becomes the service's
// (terminal = pty) until the detach sequence, the escape key then d. The
// escape key twice sends it once; followed by anything else both go to
// the service. The local terminal is in raw mode meanwhile, so ^C, ^Z and
// the like reach the service too.

// defaultEscape is Ctrl-].
const defaultEscape = 0x1d

// parseEscape reads --escape: "^X" (a control key) or one character.
func parseEscape(s string) (byte, error) {
	switch {
	case s == "":
		return defaultEscape, nil
	case len(s) == 2 && s[0] == '^' && s[1] >= '@' && s[1] <= '_':
		return s[1] - '@', nil
	case len(s) == 2 && s[0] == '^' && s[1] >= 'a' && s[1] <= 'z':
		return s[1] - 'a' + 1, nil
	case len(s) == 1 && s[0] < 0x80:
		return s[0], nil
	}
	return 0, fmt.Errorf("--escape %q: want ^X (a control key) or one ASCII character", s)
}

func escapeName(b byte) string {
	if b < 0x20 {
		return "Ctrl-" + string(rune(b+'@'))
	}
	return string(rune(b))
}

// escaper finds the detach sequence in the input stream.
type escaper struct {
	key     byte
	pending bool // the escape key was the last byte seen
}

// feed returns the bytes to send for in and whether the detach sequence
// was seen (nothing after it is sent).
func (e *escaper) feed(in []byte) (out []byte, detach bool) {
	out = make([]byte, 0, len(in)+1)
	for _, b := range in {
		if e.pending {
			e.pending = false
			switch b {
			case 'd':
				return out, true
			case e.key:
				out = append(out, b)
			default:
				out = append(out, e.key, b)
			}
			continue
		}
		if b == e.key {
			e.pending = true
			continue
		}
		out = append(out, b)
	}
	return out, false
}

// makeRaw puts the terminal fd in raw mode and returns how to undo it.
func makeRaw(fd int) (func(), error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	t := *old
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &t); err != nil {
		return nil, err
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}

func winsize(fd int) (control.Winsize, bool) {
	w, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
	if err != nil {
		return control.Winsize{}, false
	}
	return control.Winsize{Rows: w.Row, Cols: w.Col, XPixel: w.Xpixel, YPixel: w.Ypixel}, true
}

// runAttach is ginitctl attach on an open client.
func runAttach(ctx context.Context, c *control.Client, a *cliArgs, stdout, stderr io.Writer, tr *i18n.Printer) int {
	stdin := os.Stdin // the terminal put in raw mode
	name := a.pos[0]
	key, err := parseEscape(a.flags["--escape"])
	if err != nil {
		fmt.Fprintf(stderr, "ginitctl: %v\n", err)
		return ExitUsage
	}
	conn, resp, err := c.Attach(ctx, name)
	if err != nil {
		fmt.Fprintf(stderr, "ginitctl: %s\n", tr.Tf("%s: %s", "attach", Plain(err)))
		return ExitFail
	}
	if resp.Code != control.OK {
		req := control.Request{Op: control.OpAttach, Service: name}
		return fail(a, &req, &resp, stderr)
	}
	defer conn.Close()
	fd := int(stdin.Fd())
	if restore, err := makeRaw(fd); err == nil {
		defer restore()
	}
	if !a.quiet {
		fmt.Fprintf(stderr, "ginitctl: %s\r\n", tr.Tf("attached to '%s'; detach with %s then d", name, escapeName(key)))
	}
	var wmu sync.Mutex
	send := func(frame []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		_, err := conn.Write(frame)
		return err
	}
	if w, ok := winsize(fd); ok {
		_ = send(control.AppendAttachWindow(nil, w))
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	defer signal.Stop(winch)
	quit := make(chan os.Signal, 1)
	signal.Notify(quit, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(quit)

	outDone := make(chan struct{})
	go func() {
		_, _ = io.Copy(stdout, conn)
		close(outDone)
	}()
	detached := make(chan struct{})
	go func() {
		e := escaper{key: key}
		buf := make([]byte, 4096)
		for {
			n, err := stdin.Read(buf)
			if n > 0 {
				out, detach := e.feed(buf[:n])
				if len(out) > 0 && send(control.AppendAttachInput(nil, out)) != nil {
					return
				}
				if detach {
					close(detached)
					return
				}
			}
			if err != nil {
				return // stdin ended: stay attached until ginit ends it or a signal
			}
		}
	}()
	for {
		select {
		case <-winch:
			if w, ok := winsize(fd); ok {
				_ = send(control.AppendAttachWindow(nil, w))
			}
		case <-detached:
			if !a.quiet {
				fmt.Fprintf(stderr, "\r\nginitctl: %s\r\n", tr.Tf("detached from '%s'", name))
			}
			return ExitOK
		case <-quit:
			return ExitOK
		case <-ctx.Done():
			return ExitFail
		case <-outDone:
			fmt.Fprintf(stderr, "\r\nginitctl: %s\r\n", tr.Tf("'%s': ginit ended the session", name))
			return ExitFail
		}
	}
}
