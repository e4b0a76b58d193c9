package sessiond

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/ini.v1"

	"ginit/sessiond/sys"
)

// LoginConfig is the [Login] section of a logind.conf-style file: the
// settings behind the Manager's power and inhibitor properties. The zero
// value is not useful; start from DefaultLoginConfig.
type LoginConfig struct {
	InhibitDelayMax time.Duration
	InhibitorsMax   uint64
	HoldoffTimeout  time.Duration
	IdleAction      string
	IdleActionTime  time.Duration
	UserStopDelay   time.Duration

	HandlePowerKey               string
	HandlePowerKeyLongPress      string
	HandleRebootKey              string
	HandleRebootKeyLongPress     string
	HandleSuspendKey             string
	HandleSuspendKeyLongPress    string
	HandleHibernateKey           string
	HandleHibernateKeyLongPress  string
	HandleLidSwitch              string
	HandleLidSwitchExternalPower string
	HandleLidSwitchDocked        string

	// RuntimeDirectorySize is the size= (bytes) of each /run/user/UID
	// tmpfs, RuntimeDirectoryInodesMax its nr_inodes=.
	RuntimeDirectorySize      uint64
	RuntimeDirectoryInodesMax uint64

	PowerKeyIgnoreInhibited     bool
	SuspendKeyIgnoreInhibited   bool
	HibernateKeyIgnoreInhibited bool
	LidSwitchIgnoreInhibited    bool
	RebootKeyIgnoreInhibited    bool
}

// DefaultLoginConfig returns logind's built-in defaults.
func DefaultLoginConfig() LoginConfig {
	// logind: 10% of RAM, and one inode per 4 KiB of that.
	size := sys.PhysicalMemory() / 10
	return LoginConfig{
		RuntimeDirectorySize:      size,
		RuntimeDirectoryInodesMax: (size + 4095) / 4096,

		InhibitDelayMax: 5 * time.Second,
		InhibitorsMax:   8192,
		HoldoffTimeout:  30 * time.Second,
		IdleAction:      "ignore",
		IdleActionTime:  30 * time.Minute,
		UserStopDelay:   10 * time.Second,

		HandlePowerKey:              "poweroff",
		HandlePowerKeyLongPress:     "ignore",
		HandleRebootKey:             "reboot",
		HandleRebootKeyLongPress:    "poweroff",
		HandleSuspendKey:            "suspend",
		HandleSuspendKeyLongPress:   "hibernate",
		HandleHibernateKey:          "hibernate",
		HandleHibernateKeyLongPress: "ignore",
		HandleLidSwitch:             "suspend",
		// Empty means "as HandleLidSwitch", as in logind.
		HandleLidSwitchExternalPower: "",
		HandleLidSwitchDocked:        "ignore",

		LidSwitchIgnoreInhibited: true,
	}
}

// handleActions are the values logind accepts for Handle*= and IdleAction=.
var handleActions = map[string]bool{
	"ignore": true, "poweroff": true, "reboot": true, "halt": true, "kexec": true,
	"suspend": true, "hibernate": true, "hybrid-sleep": true, "suspend-then-hibernate": true,
	"sleep": true, "lock": true, "factory-reset": true, "secure-attention-key": true,
}

// LoadLoginConfig reads the [Login] section of path over the defaults. A
// missing file is not an error (logind runs on its defaults then); a bad
// value is, and names the file, key and value.
func LoadLoginConfig(path string) (LoginConfig, error) {
	c := DefaultLoginConfig()
	if path == "" {
		return c, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("logind config: %w", err)
	}
	f, err := ini.LoadSources(ini.LoadOptions{AllowShadows: true, SpaceBeforeInlineComment: true}, data)
	if err != nil {
		return c, fmt.Errorf("logind config %s: %w", path, err)
	}
	sec, err := f.GetSection("Login")
	if err != nil {
		return c, nil // no [Login] section: all defaults
	}
	if err := c.apply(sec); err != nil {
		return c, fmt.Errorf("logind config %s: %w", path, err)
	}
	return c, nil
}

func (c *LoginConfig) apply(sec *ini.Section) error {
	actions := map[string]*string{
		"HandlePowerKey": &c.HandlePowerKey, "HandlePowerKeyLongPress": &c.HandlePowerKeyLongPress,
		"HandleRebootKey": &c.HandleRebootKey, "HandleRebootKeyLongPress": &c.HandleRebootKeyLongPress,
		"HandleSuspendKey": &c.HandleSuspendKey, "HandleSuspendKeyLongPress": &c.HandleSuspendKeyLongPress,
		"HandleHibernateKey": &c.HandleHibernateKey, "HandleHibernateKeyLongPress": &c.HandleHibernateKeyLongPress,
		"HandleLidSwitch": &c.HandleLidSwitch, "HandleLidSwitchExternalPower": &c.HandleLidSwitchExternalPower,
		"HandleLidSwitchDocked": &c.HandleLidSwitchDocked, "IdleAction": &c.IdleAction,
	}
	spans := map[string]*time.Duration{
		"InhibitDelayMaxSec": &c.InhibitDelayMax, "HoldoffTimeoutSec": &c.HoldoffTimeout,
		"IdleActionSec": &c.IdleActionTime, "UserStopDelaySec": &c.UserStopDelay,
	}
	bools := map[string]*bool{
		"PowerKeyIgnoreInhibited": &c.PowerKeyIgnoreInhibited, "SuspendKeyIgnoreInhibited": &c.SuspendKeyIgnoreInhibited,
		"HibernateKeyIgnoreInhibited": &c.HibernateKeyIgnoreInhibited, "LidSwitchIgnoreInhibited": &c.LidSwitchIgnoreInhibited,
		"RebootKeyIgnoreInhibited": &c.RebootKeyIgnoreInhibited,
	}
	for _, k := range sec.Keys() {
		name, val := k.Name(), strings.TrimSpace(k.String())
		// systemd: the last assignment wins.
		if sh := k.ValueWithShadows(); len(sh) > 1 {
			val = strings.TrimSpace(sh[len(sh)-1])
		}
		switch {
		case val == "":
			// An empty assignment means the default, which is what we
			// hold (assignments of one key were folded above).
		case actions[name] != nil:
			if !handleActions[val] {
				return fmt.Errorf("%s=%s: not an action (ignore, poweroff, reboot, halt, suspend, hibernate, …)", name, val)
			}
			*actions[name] = val
		case spans[name] != nil:
			d, err := parseTimespan(val)
			if err != nil {
				return fmt.Errorf("%s=%s: %w", name, val, err)
			}
			*spans[name] = d
		case bools[name] != nil:
			b, err := parseSystemdBool(val)
			if err != nil {
				return fmt.Errorf("%s=%s: %w", name, val, err)
			}
			*bools[name] = b
		case name == "RuntimeDirectorySize":
			n, err := parseRuntimeSize(val, sys.PhysicalMemory())
			if err != nil {
				return fmt.Errorf("%s=%s: %w", name, val, err)
			}
			c.RuntimeDirectorySize = n
		case name == "RuntimeDirectoryInodesMax":
			n, err := parseIECSize(val)
			if err != nil || n == 0 {
				return fmt.Errorf("%s=%s: not a positive number", name, val)
			}
			c.RuntimeDirectoryInodesMax = n
		case name == "InhibitorsMax":
			n, err := strconv.ParseUint(val, 10, 64)
			if err != nil {
				return fmt.Errorf("%s=%s: %w", name, val, err)
			}
			c.InhibitorsMax = n
		default:
			// Settings sessiond does not act on (KillUserProcesses=,
			// RemoveIPC=, …) are accepted and ignored, so a
			// distribution's logind.conf loads unchanged.
		}
	}
	return nil
}

func parseSystemdBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "yes", "y", "true", "t", "on":
		return true, nil
	case "0", "no", "n", "false", "f", "off":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean")
}

// timespanUnits are systemd's time span suffixes.
var timespanUnits = []struct {
	suffix string
	d      time.Duration
}{
	// Longest suffixes first so "ms" is not read as "m" + "s".
	{"minutes", time.Minute}, {"minute", time.Minute}, {"seconds", time.Second}, {"second", time.Second},
	{"hours", time.Hour}, {"hour", time.Hour}, {"msec", time.Millisecond}, {"usec", time.Microsecond},
	{"days", 24 * time.Hour}, {"day", 24 * time.Hour}, {"min", time.Minute}, {"sec", time.Second},
	{"hr", time.Hour}, {"ms", time.Millisecond}, {"us", time.Microsecond}, {"µs", time.Microsecond},
	{"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"d", 24 * time.Hour},
}

// parseTimespan reads a systemd time span: "5", "5s", "1min 30s",
// "infinity" (the largest duration). A bare number is seconds.
func parseTimespan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "infinity" {
		return time.Duration(1<<63 - 1), nil
	}
	if s == "" {
		return 0, fmt.Errorf("empty time span")
	}
	var total time.Duration
	rest := s
	for rest != "" {
		rest = strings.TrimLeft(rest, " ")
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("bad time span %q", s)
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("bad time span %q: %w", s, err)
		}
		rest = strings.TrimLeft(rest[i:], " ")
		unit := time.Second
		for _, u := range timespanUnits {
			if strings.HasPrefix(rest, u.suffix) {
				unit = u.d
				rest = rest[len(u.suffix):]
				break
			}
		}
		if rest != "" && rest[0] != ' ' && (rest[0] < '0' || rest[0] > '9') {
			return 0, fmt.Errorf("bad time span %q: unknown unit", s)
		}
		total += time.Duration(n * float64(unit))
	}
	return total, nil
}

func usec(d time.Duration) uint64 {
	if d == time.Duration(1<<63-1) {
		return infinity
	}
	return uint64(d / time.Microsecond)
}

// ParseRuntimeSize reads a RuntimeDirectorySize= value (bytes, K/M/G/…,
// or a percentage of this machine's RAM).
func ParseRuntimeSize(s string) (uint64, error) { return parseRuntimeSize(s, sys.PhysicalMemory()) }

// parseRuntimeSize reads RuntimeDirectorySize=: bytes with an IEC suffix
// (K, M, G, …; powers of 1024) or a percentage of ram.
func parseRuntimeSize(s string, ram uint64) (uint64, error) {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || f <= 0 || f > 100 {
			return 0, fmt.Errorf("not a percentage between 0 and 100")
		}
		return uint64(float64(ram) * f / 100), nil
	}
	n, err := parseIECSize(s)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("not a size (bytes, K, M, G, T or a percentage of RAM)")
	}
	return n, nil
}

// parseIECSize reads "1024", "512K", "1.5G" (powers of 1024).
func parseIECSize(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	mult := uint64(1)
	if s != "" {
		if i := strings.IndexByte("KMGTPE", s[len(s)-1]); i >= 0 {
			mult = 1 << (10 * (i + 1))
			s = strings.TrimSpace(s[:len(s)-1])
		} else if s[len(s)-1] == 'B' {
			s = strings.TrimSpace(s[:len(s)-1])
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || strings.ContainsAny(s, "eExXpP") {
		return 0, fmt.Errorf("bad size %q", s)
	}
	v := f * float64(mult)
	if v >= 1<<64 {
		return 0, fmt.Errorf("size %q too large", s)
	}
	return uint64(v), nil
}
