package sys

import "testing"

func TestVTNumber(t *testing.T) {
	for _, c := range []struct {
		tty  string
		want uint32
	}{
		{"tty1", 1}, {"tty63", 63}, {"tty0", 0}, {"tty64", 0}, {"tty", 0}, {"tty100", 0},
		{"ttyS0", 0}, {"pts/1", 0}, {"console", 0}, {"", 0},
	} {
		if got := VTNumber(c.tty); got != c.want {
			t.Errorf("VTNumber(%q) = %d, want %d", c.tty, got, c.want)
		}
	}
}
