package loader

import (
	"fmt"
	"strconv"
	"strings"

	"ginit/init/service"
)

// maxVT is the highest virtual terminal the kernel makes (MAX_NR_CONSOLES).
const maxVT = 63

// setTerminal reads `terminal = pty` or `terminal = vt:N` (also `run-on-vt = N`).
func setTerminal(p *parser, v string) error {
	switch {
	case v == "pty":
		p.d.Terminal = service.TerminalPTY
		if p.d.More != nil {
			p.d.More.VT = 0
		}
		return nil
	case strings.HasPrefix(v, "vt:"):
		return setVT(p, strings.TrimPrefix(v, "vt:"))
	}
	return invalid(v, "pty or vt:N")
}

func setVT(p *parser, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxVT {
		return fmt.Errorf("virtual terminal %q: want a number 1..%d", v, maxVT)
	}
	p.d.Terminal, p.d.ExtMut().VT = service.TerminalVT, int32(n)
	return nil
}

// setStartClass reads start-class = NAME (a word of letters, digits, '-'
// and '_', as --max-starting-class names it).
func setStartClass(p *parser, v string) error {
	if v == "" || len(v) > 64 || strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
		return fmt.Errorf("start class %q: want up to 64 letters, digits, '-' or '_'", v)
	}
	p.d.ExtMut().StartClass = v
	return nil
}

// validateTerminal checks what a terminal excludes.
func (p *parser) validateTerminal(fail func(format string, args ...any)) {
	d := p.d
	if d.Terminal == service.TerminalNone {
		return
	}
	switch {
	case d.Type != service.TypeProcess && d.Type != service.TypeScripted && d.Type != service.TypeBGProcess:
		fail("terminal is only for type process, scripted or bgprocess")
	case onConsoleOpts(d.Options):
		fail("terminal cannot be combined with runs-on-console, starts-on-console or shares-console")
	case d.Ext().ConsumerOf != "" || d.LogType == service.LogPipe:
		fail("terminal cannot be combined with consumer-of or log-type pipe (the terminal is the service's input and output)")
	}
}

func onConsoleOpts(o service.Options) bool {
	return o.RunsOnConsole || o.StartsOnConsole || o.SharesConsole
}
