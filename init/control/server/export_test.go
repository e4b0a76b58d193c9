package server

import "time"

// SetLimits changes a server's limits before it serves; zero keeps one.
func SetLimits(s *Server, maxConns int, frame, idle time.Duration) {
	if maxConns > 0 {
		s.maxConns = maxConns
	}
	if frame > 0 {
		s.frameTimeout = frame
	}
	if idle > 0 {
		s.idleTimeout = idle
	}
}

// Accepted is how many accepted connections s serves now.
func Accepted(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// MidFrame is how many connections of s are in the middle of a frame.
func MidFrame(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k := range s.conns {
		if k.midFrame {
			n++
		}
	}
	return n
}
