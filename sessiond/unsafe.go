package sessiond

import "unsafe"

// unsafePointer views the start of b as a kernel struct (inotify events).
func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }
