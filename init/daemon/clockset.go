package daemon

import (
	"context"
	"errors"
	"math"
	"os"

	"golang.org/x/sys/unix"

	"ginit/init/service"
)

// watchClockSet calls set each time the wall clock is set (settimeofday,
// an NTP step, a resume from suspend), until ctx ends: a timerfd armed for
// the far future with TFD_TIMER_CANCEL_ON_SET fails its read with
// ECANCELED then. Without it timers still notice within a minute.
func watchClockSet(ctx context.Context, set func(), log service.Logger) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_REALTIME, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		log.Printf("timers: no timerfd (%v): wall-clock changes are seen within a minute", err)
		return
	}
	f := os.NewFile(uintptr(fd), "timerfd") // non-blocking: Go's poller, so Close ends a Read
	defer f.Close()
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer stop()
	far := unix.ItimerSpec{Value: unix.Timespec{Sec: math.MaxInt32}}
	var buf [8]byte
	for ctx.Err() == nil {
		if err := unix.TimerfdSettime(fd, unix.TFD_TIMER_ABSTIME|unix.TFD_TIMER_CANCEL_ON_SET, &far, nil); err != nil {
			log.Printf("timers: timerfd: %v: wall-clock changes are seen within a minute", err)
			return
		}
		_, err := f.Read(buf[:])
		switch {
		case errors.Is(err, unix.ECANCELED):
			set()
		case err != nil:
			return // closed at the end of ctx
		}
	}
}
