package sessiond

import (
	"testing"
	"unsafe"
)

// TestRecordSizes holds the per-session records to the allocator size
// classes they were packed for: one byte past a class costs the step to
// the next one for every session.
func TestRecordSizes(t *testing.T) {
	for _, c := range []struct {
		name      string
		size, max uintptr
	}{
		{"session", unsafe.Sizeof(session{}), 192},
		{"sessionFixed", unsafe.Sizeof(sessionFixed{}), 192},
		{"sessionView", unsafe.Sizeof(sessionView{}), 128},
	} {
		if c.size > c.max {
			t.Errorf("%s is %d bytes, over the %d-byte size class it was packed into", c.name, c.size, c.max)
		}
	}
}
