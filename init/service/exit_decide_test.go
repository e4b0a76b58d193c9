package service

import (
	"reflect"
	"syscall"
	"testing"
	"time"
)

func TestDecideExit(t *testing.T) {
	now := time.Unix(5000, 0)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tests := []struct {
		name         string
		restart      RestartMode
		smooth       bool
		limit        int // restart-limit-count (interval 10s)
		chainTo      string
		alwaysChain  bool
		pinStart     bool
		pinStop      bool
		shuttingDown bool
		status       ExitStatus
		history      []time.Time
		want         exitDecision
	}{
		{name: "no restart, clean exit", restart: RestartNo, status: exited(0),
			want: exitDecision{action: exitStop, reason: ReasonTerminated}},
		{name: "no restart, failure", restart: RestartNo, status: exited(1),
			want: exitDecision{action: exitStop, reason: ReasonTerminated, failed: true}},
		{name: "no restart, pinned started still stops", restart: RestartNo, pinStart: true, status: exited(0),
			want: exitDecision{action: exitStop, reason: ReasonTerminated}},
		{name: "yes, clean exit", restart: RestartYes, status: exited(0),
			want: exitDecision{action: exitRestart, reason: ReasonTerminated, restarts: []time.Time{now}}},
		{name: "on-failure, clean exit", restart: RestartOnFailure, status: exited(0),
			want: exitDecision{action: exitStop, reason: ReasonTerminated}},
		{name: "on-failure, exit code", restart: RestartOnFailure, status: exited(3),
			want: exitDecision{action: exitRestart, reason: ReasonTerminated, restarts: []time.Time{now}}},
		{name: "on-failure, SIGKILL", restart: RestartOnFailure, status: killedBy(int(syscall.SIGKILL)),
			want: exitDecision{action: exitRestart, reason: ReasonTerminated, restarts: []time.Time{now}}},
		{name: "on-failure, SIGSEGV", restart: RestartOnFailure, status: killedBy(int(syscall.SIGSEGV)),
			want: exitDecision{action: exitRestart, reason: ReasonTerminated, restarts: []time.Time{now}}},
		{name: "on-failure, deliberate SIGTERM", restart: RestartOnFailure, status: killedBy(int(syscall.SIGTERM)),
			want: exitDecision{action: exitStop, reason: ReasonTerminated, failed: true}},
		{name: "on-failure, deliberate SIGHUP", restart: RestartOnFailure, status: killedBy(int(syscall.SIGHUP)),
			want: exitDecision{action: exitStop, reason: ReasonTerminated, failed: true}},
		{name: "on-failure, exec error", restart: RestartOnFailure, status: ExitStatus{ExecErr: syscall.ENOENT},
			want: exitDecision{action: exitRestart, reason: ReasonTerminated, restarts: []time.Time{now}}},
		{name: "smooth recovery", restart: RestartYes, smooth: true, status: exited(1),
			want: exitDecision{action: exitSmooth, reason: ReasonTerminated, restarts: []time.Time{now}}},
		{name: "pinned stopped is not wanted", restart: RestartYes, pinStop: true, status: exited(1),
			want: exitDecision{action: exitStop, reason: ReasonTerminated, failed: true}},
		{name: "shutting down", restart: RestartYes, shuttingDown: true, status: exited(0),
			want: exitDecision{action: exitStop, reason: ReasonTerminated}},
		{name: "limit reached", restart: RestartYes, limit: 3, status: exited(1),
			history: []time.Time{ago(9 * time.Second), ago(5 * time.Second), ago(time.Second)},
			want: exitDecision{action: exitGiveUp, reason: ReasonRestartLimit, failed: true,
				restarts: []time.Time{ago(9 * time.Second), ago(5 * time.Second), ago(time.Second)}}},
		{name: "limit reached beats smooth recovery", restart: RestartYes, smooth: true, limit: 1, status: exited(1),
			history: []time.Time{ago(time.Second)},
			want:    exitDecision{action: exitGiveUp, reason: ReasonRestartLimit, failed: true, restarts: []time.Time{ago(time.Second)}}},
		{name: "old restarts leave the window", restart: RestartYes, limit: 3, status: exited(1),
			history: []time.Time{ago(30 * time.Second), ago(10 * time.Second), ago(2 * time.Second)},
			want:    exitDecision{action: exitRestart, reason: ReasonTerminated, restarts: []time.Time{ago(2 * time.Second), now}}},
		{name: "no limit", restart: RestartYes, limit: 0, status: exited(1),
			history: []time.Time{ago(3 * time.Second), ago(2 * time.Second), ago(time.Second)},
			want: exitDecision{action: exitRestart, reason: ReasonTerminated,
				restarts: []time.Time{ago(3 * time.Second), ago(2 * time.Second), ago(time.Second), now}}},
		{name: "chain after a clean exit", restart: RestartNo, chainTo: "b", status: exited(0),
			want: exitDecision{action: exitStop, reason: ReasonTerminated, chain: true}},
		{name: "no chain after a failure", restart: RestartNo, chainTo: "b", status: exited(1),
			want: exitDecision{action: exitStop, reason: ReasonTerminated, failed: true}},
		{name: "always-chain after a failure", restart: RestartNo, chainTo: "b", alwaysChain: true, status: exited(1),
			want: exitDecision{action: exitStop, reason: ReasonTerminated, failed: true, chain: true}},
		{name: "no chain while shutting down", restart: RestartNo, chainTo: "b", shuttingDown: true, status: exited(0),
			want: exitDecision{action: exitStop, reason: ReasonTerminated}},
		{name: "no chain when restarting", restart: RestartYes, chainTo: "b", status: exited(0),
			want: exitDecision{action: exitRestart, reason: ReasonTerminated, restarts: []time.Time{now}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := svcDesc("a", TypeProcess)
			d.Restart, d.SmoothRecovery, d.RestartLimitCount = tc.restart, tc.smooth, tc.limit
			d.ChainTo, d.Options.AlwaysChain = tc.chainTo, tc.alwaysChain
			s := &svc{desc: d, explicit: true, pinStart: tc.pinStart, pinStop: tc.pinStop}
			history := append([]time.Time(nil), tc.history...)
			got := decideExit(exitFacts{
				desc: d, status: tc.status, wanted: (&Manager{}).wanted(s),
				shuttingDown: tc.shuttingDown, now: now, restarts: history,
			})
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decideExit = %+v, want %+v", got, tc.want)
			}
			if !reflect.DeepEqual(history, append([]time.Time(nil), tc.history...)) {
				t.Errorf("decideExit changed the history it was given: %v", history)
			}
		})
	}
}
