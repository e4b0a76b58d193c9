// Package logging holds service output buffers and log files, and ginit's own
// log, which is kept in memory from the first instant and written to disk once
// a file can be attached.
package logging
