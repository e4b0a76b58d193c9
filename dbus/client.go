package dbus

import (
	"errors"
	"fmt"
	"sync"

	godbus "github.com/godbus/dbus/v5"
)

// Client is the godbus connection handlers use for their own calls (the
// bus daemon, polkit): a daemon that serves on its own Conn dials it on
// the first call that needs it, so an idle daemon keeps no second
// connection (its buffers and goroutines cost about 0.6 MB resident).
// A failed dial is retried by the next call. The zero value has no bus.
type Client struct {
	addr string

	mu   sync.Mutex
	conn *godbus.Conn
	done bool // Close was called
}

// errNoClient is Conn's error for a Client with no bus to reach.
var errNoClient = errors.New("dbus: no client connection")

// NewClient returns a Client that dials addr on first use.
func NewClient(addr string) *Client { return &Client{addr: addr} }

// ClientOf returns a Client that is conn (serving on a godbus.Conn, or a
// test's connection); closing it leaves conn open.
func ClientOf(conn *godbus.Conn) *Client { return &Client{conn: conn} }

// Conn returns the connection, dialling it if need be.
func (c *Client) Conn() (*godbus.Conn, error) {
	if c == nil {
		return nil, errNoClient
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		return c.conn, nil
	}
	if c.done || c.addr == "" {
		return nil, errNoClient
	}
	conn, err := godbus.Connect(c.addr)
	if err != nil {
		return nil, fmt.Errorf("dbus: connect to %s: %w", c.addr, err)
	}
	c.conn = conn
	return conn, nil
}

// Close closes a connection NewClient's Conn dialled; later calls fail.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = true
	if c.conn != nil && c.addr != "" {
		_ = c.conn.Close()
	}
	c.conn = nil
}
