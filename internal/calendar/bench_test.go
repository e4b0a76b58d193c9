package calendar

import (
	"testing"
	"time"
)

// BenchmarkNext: the cost of one next-elapse computation, which a timer
// service pays at each arming and after each wall-clock jump.
func BenchmarkNext(b *testing.B) {
	for _, expr := range []string{"daily", "Mon..Fri 08:00", "*-*~01 02:30 Europe/Berlin", "*:*:0/0.5", "*-02-30"} {
		s, err := Parse(expr)
		if err != nil {
			b.Fatal(err)
		}
		at := time.Date(2026, 12, 2, 2, 40, 0, 0, time.UTC)
		b.Run(expr, func(b *testing.B) {
			for b.Loop() {
				s.Next(at)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := Parse("Mon..Fri *-*~07/1 08,12:00/15:00"); err != nil {
			b.Fatal(err)
		}
	}
}
