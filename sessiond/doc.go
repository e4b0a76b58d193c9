// Package sessiond is a logind-compatible session manager: it keeps the
// sessions, users and seats that PAM creates through CreateSession,
// serves them on the bus as org.freedesktop.login1, places session
// processes in systemd's cgroup layout and writes the /run/systemd state
// files that libsystemd's sd-login reads, so unmodified clients work.
//
// One goroutine (Manager.loop) owns all state. Bus handlers, FIFO and
// cgroup watchers and timers only post closures to it and wait for the
// answer; after each mutating request the loop persists what changed and
// emits the signals (PropertiesChanged included) in order.
//
// All state lives in files under the run directory, so a sessiond killed
// with SIGKILL and started again restores every session, user and seat
// (see restore.go).
package sessiond
