// Package ctest exposes the pure C logic of pam_sessiond.so (pam/logic.c:
// module arguments, CreateSession's arguments, small parsers) to Go
// tests and fuzz targets through cgo. It exists for testing only: the
// module itself is C built by the Makefile, and nothing else imports
// this package (PID 1 links no cgo).
package ctest
