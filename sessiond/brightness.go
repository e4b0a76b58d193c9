package sessiond

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	bus "ginit/dbus"
)

// setBrightness writes a backlight or LED brightness for the session's
// owner (gnome-settings-daemon and mutter do this instead of needing
// root).
func (s *state) setBrightness(subsystem, name string, value uint32) error {
	if subsystem != "backlight" && subsystem != "leds" {
		return bus.Errorf(bus.ErrInvalidArgs, "Subsystem type %s not supported, must be one of 'backlight' or 'leds'.", subsystem)
	}
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return bus.Errorf(bus.ErrInvalidArgs, "Invalid device name %q", name)
	}
	dir := filepath.Join(s.cfg.sysClass(), subsystem, name)
	maxv, err := os.ReadFile(filepath.Join(dir, "max_brightness"))
	if err != nil {
		return bus.Errorf(bus.ErrInvalidArgs, "Device %s:%s not found", subsystem, name)
	}
	if m, err := strconv.ParseUint(strings.TrimSpace(string(maxv)), 10, 32); err == nil && uint64(value) > m {
		value = uint32(m)
	}
	if err := os.WriteFile(filepath.Join(dir, "brightness"), []byte(utoa(value)), 0o644); err != nil {
		return bus.Errorf(bus.ErrFailed, "Failed to write brightness of %s:%s: %v", subsystem, name, err)
	}
	return nil
}

func (c *Config) sysClass() string {
	if c.SysClassDir != "" {
		return c.SysClassDir
	}
	return "/sys/class"
}

func (m *Manager) hSetBrightness(c *bus.Call) ([]any, error) {
	var subsystem, name string
	var value uint32
	if err := c.Store(&subsystem, &name, &value); err != nil {
		return nil, err
	}
	return nil, m.withSession(c, pathLabel(c), true, func(s *state, ss *session, cl *caller) error {
		if err := ownerOrRoot(cl, ss.UID, "set brightness"); err != nil {
			return err
		}
		return s.setBrightness(subsystem, name, value)
	})
}

func (m *Manager) hSetDisplay(c *bus.Call) ([]any, error) {
	var display string
	if err := c.Store(&display); err != nil {
		return nil, err
	}
	return nil, m.withSession(c, pathLabel(c), false, func(s *state, ss *session, _ *caller) error {
		if ss.Controller != c.Sender {
			return bus.Errorf(bus.ErrNotInControl, "You must be in control of this session to set display")
		}
		if !isGraphical(ss.Type) {
			return bus.Errorf(bus.ErrNotSupported, "Setting display is only supported for graphical sessions")
		}
		if strings.ContainsFunc(display, func(r rune) bool { return r <= ' ' }) {
			return bus.Errorf(bus.ErrInvalidArgs, "Invalid display %q", display)
		}
		if ss.Display != display {
			ss.Display = display
			s.touchSession(ss)
		}
		return nil
	})
}
