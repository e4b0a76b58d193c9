package sys

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrNoBacklight: the directory given to SetBrightness is no backlight or
// LED device.
var ErrNoBacklight = errors.New("no such backlight or LED device")

// SetBrightness writes value, capped at the device's max_brightness, to
// the backlight or LED device dir (a directory of /sys/class/backlight or
// /sys/class/leds).
func SetBrightness(dir string, value uint32) error {
	maxv, err := os.ReadFile(filepath.Join(dir, "max_brightness"))
	if err != nil {
		return fmt.Errorf("%s: %w", dir, ErrNoBacklight)
	}
	if m, err := strconv.ParseUint(strings.TrimSpace(string(maxv)), 10, 32); err == nil && uint64(value) > m {
		value = uint32(m)
	}
	return os.WriteFile(filepath.Join(dir, "brightness"), []byte(strconv.FormatUint(uint64(value), 10)), 0o644)
}
