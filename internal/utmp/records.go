package utmp

import "time"

// BootRecord is the wtmp entry PID 1 writes at boot; `last -x` shows it as "reboot".
func BootRecord(now time.Time, kernel string) Record {
	return Record{Type: BootTime, Line: "~", ID: "~~", User: "reboot", Host: kernel, Time: now}
}

// ShutdownRecord is written just before power-off; `last -x` shows "shutdown".
func ShutdownRecord(now time.Time, kernel string) Record {
	return Record{Type: RunLevel, Line: "~", ID: "~~", User: "shutdown", Host: kernel, Time: now}
}

// RunlevelRecord records a runlevel change; Pid carries level + 256*prev as sysvinit does.
func RunlevelRecord(now time.Time, level, prev byte, kernel string) Record {
	return Record{Type: RunLevel, Pid: int32(level) + 256*int32(prev), Line: "~", ID: "~~", User: "runlevel", Host: kernel, Time: now}
}

// InitRecord marks a getty started by init (dinit's inittab-id/inittab-line).
func InitRecord(now time.Time, pid int, id, line string) Record {
	return Record{Type: InitProcess, Pid: int32(pid), ID: id, Line: line, Time: now}
}

// LoginRecord is a user's login on line.
func LoginRecord(now time.Time, pid int, id, line, user, host string) Record {
	return Record{Type: UserProcess, Pid: int32(pid), ID: id, Line: line, User: user, Host: host, Time: now}
}

// DeadRecord marks the process on line as exited (written to utmp and wtmp).
func DeadRecord(now time.Time, pid int, id, line string) Record {
	return Record{Type: DeadProcess, Pid: int32(pid), ID: id, Line: line, Time: now}
}
