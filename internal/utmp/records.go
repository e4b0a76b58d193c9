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
