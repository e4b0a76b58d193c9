package desktop

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// QMP is a client of qemu's machine protocol on a unix socket: one command
// at a time, answers matched in order, asynchronous events skipped.
type QMP struct {
	conn net.Conn
	dec  *json.Decoder
}

// DialQMP connects (retrying until ctx ends: qemu creates the socket a
// moment after it starts), reads the greeting and leaves capability
// negotiation mode.
func DialQMP(ctx context.Context, path string) (*QMP, error) {
	var conn net.Conn
	var err error
	for {
		if conn, err = net.Dial("unix", path); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("qmp socket %s: %w", path, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	q := &QMP{conn: conn, dec: json.NewDecoder(conn)}
	var greeting map[string]json.RawMessage
	if err := q.dec.Decode(&greeting); err != nil {
		conn.Close()
		return nil, fmt.Errorf("qmp %s: greeting: %w", path, err)
	}
	if _, ok := greeting["QMP"]; !ok {
		conn.Close()
		return nil, fmt.Errorf("qmp %s: not a QMP greeting: %v", path, greeting)
	}
	if _, err := q.Do("qmp_capabilities", nil); err != nil {
		conn.Close()
		return nil, err
	}
	return q, nil
}

// Close closes the connection.
func (q *QMP) Close() error { return q.conn.Close() }

// Do runs one command and returns its "return" value; a QMP "error" answer
// is returned as an error naming the command and qemu's class and text.
func (q *QMP) Do(cmd string, args any) (json.RawMessage, error) {
	req := map[string]any{"execute": cmd}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("qmp %s: %w", cmd, err)
	}
	if err := q.conn.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		return nil, fmt.Errorf("qmp %s: %w", cmd, err)
	}
	if _, err := q.conn.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("qmp %s: %w", cmd, err)
	}
	for {
		var ans struct {
			Return json.RawMessage `json:"return"`
			Error  *struct {
				Class string `json:"class"`
				Desc  string `json:"desc"`
			} `json:"error"`
			Event string `json:"event"`
		}
		if err := q.dec.Decode(&ans); err != nil {
			return nil, fmt.Errorf("qmp %s: %w", cmd, err)
		}
		switch {
		case ans.Event != "":
			continue
		case ans.Error != nil:
			return nil, fmt.Errorf("qmp %s: %s: %s", cmd, ans.Error.Class, ans.Error.Desc)
		default:
			return ans.Return, nil
		}
	}
}

// Screendump writes the guest's screen to path as a binary PPM.
func (q *QMP) Screendump(path string) error {
	_, err := q.Do("screendump", map[string]any{"filename": path})
	return err
}

// Powerdown presses the ACPI power button.
func (q *QMP) Powerdown() error {
	_, err := q.Do("system_powerdown", nil)
	return err
}

// Keys presses the qcodes together (a chord: "shift", "a") and releases them.
func (q *QMP) Keys(codes ...string) error {
	keys := make([]map[string]string, len(codes))
	for i, c := range codes {
		keys[i] = map[string]string{"type": "qcode", "data": c}
	}
	_, err := q.Do("send-key", map[string]any{"keys": keys, "hold-time": 80})
	return err
}

// Type types s on the guest's keyboard, one key (or shifted key) at a time.
func (q *QMP) Type(s string) error {
	for _, r := range s {
		codes, err := KeyCodes(r)
		if err != nil {
			return err
		}
		if err := q.Keys(codes...); err != nil {
			return err
		}
		time.Sleep(60 * time.Millisecond)
	}
	return nil
}

// KeyCodes is the qcode chord that types r on a US keyboard.
func KeyCodes(r rune) ([]string, error) {
	switch {
	case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		return []string{string(r)}, nil
	case r >= 'A' && r <= 'Z':
		return []string{"shift", string(r - 'A' + 'a')}, nil
	}
	shift := []string{"shift"}
	switch r {
	case '\n':
		return []string{"ret"}, nil
	case ' ':
		return []string{"spc"}, nil
	case '\t':
		return []string{"tab"}, nil
	case '-':
		return []string{"minus"}, nil
	case '_':
		return append(shift, "minus"), nil
	case '.':
		return []string{"dot"}, nil
	case '/':
		return []string{"slash"}, nil
	case '=':
		return []string{"equal"}, nil
	case ':':
		return append(shift, "semicolon"), nil
	}
	return nil, fmt.Errorf("no key types %q", r)
}
