// Package supervise starts and watches the processes of services: it is the
// real service.Spawner, service.Proc and service.LogReader.
//
// One reaper: Run reaps every child with wait4(-1, WNOHANG) at its exit (a
// goroutine blocked in waitid(WNOWAIT) wakes for it; see waitChildren) and
// routes each exit by pid to the Notifier of the process it belongs to, so
// processes are started with syscall.ForkExec and never waited for by anyone
// else. Nothing else in the program may use os/exec's Wait while a
// Supervisor runs: the reaper would take its child.
//
// Register before exit: Spawn holds the registry lock across the fork and the
// registration, and the reaper holds the same lock while it reaps and looks a
// pid up, so an exit is always routed to its process.
//
// Errors: a command that cannot be started (not found, chdir, exec, log file)
// makes Spawn return an error naming the stage and the file, e.g.
// "exec /bin/nope: no such file or directory"; the manager prefixes the
// service name when it logs it. Exited is only called for processes that ran,
// so ExitStatus.ExecErr is never set by this package.
//
// Adopted processes (bgprocess, sd_notify MAINPID=): a main process that is
// our child is registered with the reaper like a spawned one; any other is
// watched through a pidfd handed to Go's poller, and its end is reported as
// a normal exit, its status being unknowable. See Adopt for the pid-file
// checks.
//
// sd_notify and socket activation: see notifySock and socketActivation.
// Set-up that needs the child's pid after execve (LISTEN_PID) or acts on
// the whole child process (rlimits, oom_score_adj) is done while the child
// is stopped under ptrace right after execve; see threadSetup.
//
// One record per service: everything kept by service name (log buffer,
// cgroup and its watch, resources freed at Release, the last start's
// process group, notify and socket-listen sockets, output pipe) is one
// unit in Supervisor.units, guarded by Supervisor.mu. Cgroups go through
// internal/cgroup2; a tree's emptiness is read from its cgroup.events when
// its main process ends, and a tree left populated then is watched by
// inotify until it empties; only process-group trees are polled.
//
// Terminals (terminal = pty): pty.go; the pseudo-terminal is one more thing
// a unit keeps, for good, and its one reader goroutine fans the output out
// to attached clients without ever waiting for one.
//
// Lock order: Supervisor.mu before proc.mu; notifySock.mu and terminal.mu
// are taken alone;
// no lock is held while a Notifier method is called.
package supervise
