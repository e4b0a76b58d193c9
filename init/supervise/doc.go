// Package supervise starts and watches the processes of services: it is the
// real service.Spawner, service.Proc and service.LogReader.
//
// One reaper: Run reaps every child with wait4(-1, WNOHANG) after SIGCHLD and
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
// Lock order: Supervisor.mu before proc.mu; no other lock is held while a
// Notifier method is called.
package supervise
