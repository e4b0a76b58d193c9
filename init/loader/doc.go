// Package loader reads dinit-style service descriptions into
// service.Description records. It is pure: it reads files and returns
// descriptions, it never touches the manager's state, so a failed load
// changes nothing.
//
// Supported syntax:
//
//   - `key = value`, `key: value` (the same; list settings add), `key +=
//     value` for command, stop-command, reload-command, capabilities and securebits;
//   - `#` comments at the start of a line or after whitespace; whitespace
//     between words collapses; double quotes and backslash escapes;
//   - line continuation: a backslash ending a line continues the value on
//     the next line, which must start with whitespace;
//   - substitution at load time: $NAME, ${NAME}, ${N:-w}, ${N-w}, ${N:+w},
//     ${N+w}, $$ (a dollar), $/NAME (split into words, dropped when empty),
//     $1 (the argument of a template instance `name@arg`);
//   - @include PATH, @include-opt PATH, @meta enable-via SVC (other @meta
//     lines are ignored);
//   - depends-on.d, depends-ms.d, waits-for.d directories, relative to the
//     fragment that names them;
//   - env-file (NAME=VALUE lines, # comments, !clear, !unset, !import) read
//     at load; load-options export-passwd-vars and export-service-name;
//   - every setting of dinit's service format (prepared-by included), plus
//     the ginit settings log-max-size, memory-max, pids-max, cpu-weight,
//     chroot, unshare, umask, `ready-notification = notify` and
//     `options: run-once`.
//
// Only regular files are read (a named pipe or /dev/zero is refused before
// a byte is read: ErrNotRegular), and one description is bounded in size,
// lines and substitution output (ErrTooLarge; MaxFileSize and read.go).
//
// Unknown settings and bad values are errors naming the file, line, setting
// and value (*Error). Dependency and ordering cycles are reported as
// *CycleError.
package loader
