package service

import (
	"testing"
	"unsafe"
)

// TestRecordSizes holds the per-service records to the allocator size
// classes they were packed for: every loaded service has one of each, and
// one byte past a class costs the step to the next one (64-128 bytes).
func TestRecordSizes(t *testing.T) {
	for _, c := range []struct {
		name      string
		size, max uintptr
	}{
		// The settings few services set are in Extra, behind Description.More.
		{"Description", unsafe.Sizeof(Description{}), 224},
		{"Extra", unsafe.Sizeof(Extra{}), 512},
		// A dependency and its edge are one per dependency (a target of
		// 1000 services has 1000): DepKind a byte keeps each at 24 bytes.
		{"Dep", unsafe.Sizeof(Dep{}), 24},
		{"edge", unsafe.Sizeof(edge{}), 24}, // only for the services that set one of its settings
		{"svc", unsafe.Sizeof(svc{}), 448},
	} {
		if c.size > c.max {
			t.Errorf("%s is %d bytes, over the %d-byte size class it was packed into", c.name, c.size, c.max)
		}
	}
}
