package sessiond

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	godbus "github.com/godbus/dbus/v5"

	bus "ginit/dbus"
	"ginit/sessiond/sys"
)

// DefaultSystemBus is used when neither the option nor
// DBUS_SYSTEM_BUS_ADDRESS names a bus.
const DefaultSystemBus = "unix:path=/run/dbus/system_bus_socket"

// Serve runs sessiond until ctx ends: restore state from RunDir, connect
// to the bus at addr ("" = the system bus), own org.freedesktop.login1,
// publish seat0 and serve. On return the seats directory is removed, so
// PAM stops expecting a session daemon; sessions stay for a restart.
func Serve(ctx context.Context, cfg Config, addr string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if addr == "" {
		addr = os.Getenv("DBUS_SYSTEM_BUS_ADDRESS")
	}
	if addr == "" {
		addr = DefaultSystemBus
	}
	// Serving runs on a connection of our own (bus.Dial: one decode per
	// message, no goroutine per call, one encode per reply); the cold
	// calls handlers make themselves (credentials, polkit, NameHasOwner)
	// go through a godbus.Conn to the same bus daemon, dialled when the
	// first one is made.
	client := bus.NewClient(addr)
	defer client.Close()
	// The connection needs its handler (the object tree) before it
	// exists, the tree answers through the Manager, and the Manager takes
	// the connection as its emitter. The tree therefore reaches the
	// Manager through a pointer stored once it is built; before that
	// (ahead of RequestName, so only a caller guessing our unique name)
	// every object is unknown.
	var mgr atomic.Pointer[Manager]
	tree := bus.NewTree(ctx, func(p godbus.ObjectPath) (*bus.Object, bool) {
		if m := mgr.Load(); m != nil {
			return m.Lookup(p)
		}
		return nil, false
	}, cfg.Log)
	conn, err := bus.Dial(ctx, addr, bus.ConnConfig{Tree: tree, Client: client, Log: cfg.Log,
		Signal: func(sg *godbus.Message) {
			// Controllers that leave the bus lose their sessions' devices.
			m := mgr.Load()
			if m == nil || !isNameLost(sg) {
				return
			}
			name, _ := sg.Body[0].(string)
			m.PeerGone(name)
			m.post(func(s *state) { s.nameGone(name) })
		}})
	if err != nil {
		return fmt.Errorf("connect to bus %s: %w", addr, err)
	}
	defer conn.Close()
	m := NewManager(cfg, conn)
	m.SetContext(ctx)
	if err := m.Start(); err != nil {
		return err
	}
	mgr.Store(m)
	go m.Run(ctx)

	if vc, ok := cfg.VTs.(VTController); ok {
		// A switch away from a controller's VT waits for this answer; the
		// signals are caught before any TakeControl can put a VT in
		// VT_PROCESS mode (uncaught, SIGUSR1 would end sessiond).
		stop, err := vc.WatchSwitches(
			func() { m.post(func(s *state) { s.vtRelease() }) },
			func() { m.post(func(s *state) { s.vtAcquire() }) })
		if err != nil {
			cfg.Log.Warn("cannot follow VT switch requests", "err", err)
		} else {
			defer stop()
		}
	}

	if err := conn.AddMatch(ctx, "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged'"); err != nil {
		return fmt.Errorf("subscribe NameOwnerChanged: %w", err)
	}

	// Controllers a previous sessiond had get their sessions back (the
	// subscription above catches one leaving from now on).
	// Asked on the serving connection: this goroutine is not its reader.
	busCall := func(member, name string, out any) error {
		body, err := conn.Call(ctx, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", member, name)
		if err != nil {
			return err
		}
		return godbus.Store(body, out)
	}
	m.adoptControllers(func(name string) (int, error) {
		var pid uint32
		err := busCall("GetConnectionUnixProcessID", name, &pid)
		return int(pid), err
	}, func(name string) bool {
		var has bool
		err := busCall("NameHasOwner", name, &has)
		return err != nil || has
	})

	reply, err := conn.RequestName(ctx, BusName, uint32(godbus.NameFlagDoNotQueue))
	if err != nil {
		return fmt.Errorf("request name %s: %w", BusName, err)
	}
	if reply != uint32(godbus.RequestNameReplyPrimaryOwner) {
		return fmt.Errorf("request name %s: already owned by another process", BusName)
	}
	if err := m.PublishSeats(); err != nil {
		return err
	}
	defer m.Shutdown()
	if cfg.VTs != nil {
		stop, err := cfg.VTs.Watch(func(n uint32) { m.post(func(s *state) { s.vtChanged(n) }) })
		if err != nil {
			cfg.Log.Warn("cannot watch the active VT", "err", err)
		} else {
			defer stop()
		}
	}
	if cfg.Buttons != nil {
		stop, err := cfg.Buttons.Watch(func(ev sys.InputEvent) { m.post(func(s *state) { s.handleInput(ev) }) })
		if err != nil {
			cfg.Log.Warn("cannot watch power keys and switches", "err", err)
		} else {
			defer stop()
		}
	}
	go m.watchSeats(ctx, 2*time.Second)
	cfg.Log.Info("sessiond ready", "bus", addr, "run", cfg.RunDir)
	if cfg.Ready != nil {
		cfg.Ready()
	}
	select {
	case <-ctx.Done():
		return nil
	case <-conn.Done():
		// The bus went away: exit so the supervisor restarts us once it is
		// back; the state survives in RunDir.
		return fmt.Errorf("bus connection lost")
	}
}

// isNameLost reports a NameOwnerChanged saying a unique name left.
func isNameLost(sg *godbus.Message) bool {
	iface, _ := sg.Headers[godbus.FieldInterface].Value().(string)
	member, _ := sg.Headers[godbus.FieldMember].Value().(string)
	sender, _ := sg.Headers[godbus.FieldSender].Value().(string)
	// Only the bus daemon's word counts, not a peer's unicast signal.
	if sender != "org.freedesktop.DBus" || iface != "org.freedesktop.DBus" || member != "NameOwnerChanged" || len(sg.Body) != 3 {
		return false
	}
	name, _ := sg.Body[0].(string)
	newOwner, _ := sg.Body[2].(string)
	return newOwner == "" && len(name) > 0 && name[0] == ':'
}
