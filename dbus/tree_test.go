package dbus

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"

	"ginit/internal/testenv"
)

// TestTreeOverBus serves one Tree on each kind of server connection:
// godbus's (the Handler path) and our own (Dial).
func TestTreeOverBus(t *testing.T) {
	addr := testenv.PrivateBus(t)
	for _, kind := range []struct {
		name  string
		serve func(t *testing.T, tree *Tree) string
	}{
		{"godbus", func(t *testing.T, tree *Tree) string {
			srv, err := godbus.Connect(addr, godbus.WithHandler(tree))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Close() })
			return srv.Names()[0]
		}},
		{"own", func(t *testing.T, tree *Tree) string {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv, err := Dial(ctx, addr, ConnConfig{Tree: tree})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Close)
			return srv.UniqueName()
		}},
	} {
		t.Run(kind.name, func(t *testing.T) { testTreeOverBus(t, addr, kind.serve) })
	}
}

func testTreeOverBus(t *testing.T, addr string, serve func(t *testing.T, tree *Tree) string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	release, laterGo := make(chan struct{}), make(chan struct{})
	iface := &Interface{
		Name: "org.example.Test",
		Methods: []Method{
			{Name: "Echo", In: []Arg{{"s", "s"}, {"n", "u"}}, Out: []Arg{{"r", "s"}}, Handler: func(c *Call) ([]any, error) {
				var s string
				var n uint32
				if err := c.Store(&s, &n); err != nil {
					return nil, err
				}
				return []any{strings.Repeat(s, int(n))}, nil
			}},
			{Name: "Fail", Handler: func(c *Call) ([]any, error) {
				return nil, Errorf("org.example.Error.Nope", "nope %d", 7)
			}},
			{Name: "Panic", Handler: func(c *Call) ([]any, error) { panic("boom") }},
			{Name: "InlinePanic", Inline: true, Handler: func(c *Call) ([]any, error) { panic("boom") }},
			{Name: "Quick", Inline: true, In: []Arg{{"n", "u"}}, Out: []Arg{{"r", "u"}}, Handler: func(c *Call) ([]any, error) {
				var n uint32
				if err := c.Store(&n); err != nil {
					return nil, err
				}
				return []any{n + 1}, nil
			}},
			{Name: "Slow", Handler: func(c *Call) ([]any, error) {
				select {
				case <-release:
				case <-time.After(10 * time.Second):
				}
				return nil, nil
			}},
			{Name: "Later", In: []Arg{{"n", "u"}}, Out: []Arg{{"r", "u"}}, Async: func(c *Call, reply func([]any, error)) {
				var n uint32
				if err := c.Store(&n); err != nil {
					reply(nil, err)
					return
				}
				// Answered from another goroutine once released.
				go func() {
					select {
					case <-laterGo:
					case <-time.After(10 * time.Second):
					}
					reply([]any{n * 2}, nil)
				}()
			}},
			{Name: "AsyncPanic", Async: func(c *Call, reply func([]any, error)) { panic("boom") }},
			{Name: "Pipe", Out: []Arg{{"fd", "h"}}, Handler: func(c *Call) ([]any, error) {
				c.AfterReply(func() { pw.Close() })
				return []any{godbus.UnixFD(pw.Fd())}, nil
			}},
			{Name: "Structs", In: []Arg{{"l", "a(sv)"}}, Out: []Arg{{"n", "u"}}, Handler: func(c *Call) ([]any, error) {
				var l []struct {
					Name  string
					Value godbus.Variant
				}
				if err := c.Store(&l); err != nil {
					return nil, err
				}
				return []any{uint32(len(l))}, nil
			}},
		},
		Properties: []Property{{Name: "Name", Type: "s", Flags: PropConst}, {Name: "Hidden", Type: "b", Flags: PropHidden}},
	}
	lookup := func(p godbus.ObjectPath) (*Object, bool) {
		switch p {
		case "/":
			return &Object{Children: []string{"obj"}}, true
		case "/obj":
			return &Object{Interfaces: []*Interface{iface}, Props: func(c *Call, i string) (map[string]godbus.Variant, error) {
				return map[string]godbus.Variant{"Name": godbus.MakeVariant("thing"), "Hidden": godbus.MakeVariant(true)}, nil
			}}, true
		}
		return nil, false
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	name := serve(t, NewTree(ctx, lookup, log))
	cl, err := godbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	obj := cl.Object(name, "/obj")

	var s string
	if err := obj.Call("org.example.Test.Echo", 0, "ab", uint32(3)).Store(&s); err != nil || s != "ababab" {
		t.Errorf("Echo: %q %v", s, err)
	}
	errName := func(err error) string {
		var e godbus.Error
		if errors.As(err, &e) {
			return e.Name
		}
		return ""
	}
	for _, c := range []struct {
		call *godbus.Call
		want string
	}{
		{obj.Call("org.example.Test.Echo", 0, "ab"), ErrInvalidArgs},
		{obj.Call("org.example.Test.Echo", 0, uint32(1), "ab"), ErrInvalidArgs},
		{obj.Call("org.example.Test.Fail", 0), "org.example.Error.Nope"},
		{obj.Call("org.example.Test.Panic", 0), ErrFailed},
		{obj.Call("org.example.Test.InlinePanic", 0), ErrFailed},
		{obj.Call("org.example.Test.AsyncPanic", 0), ErrFailed},
		{obj.Call("org.example.Test.Later", 0, "x"), ErrInvalidArgs},
		{obj.Call("org.example.Test.Quick", 0, "x"), ErrInvalidArgs},
		{obj.Call("org.example.Test.Nope", 0), ErrUnknownMethod},
		{obj.Call("org.example.Other.Echo", 0), ErrUnknownInterface},
		{cl.Object(name, "/missing").Call("org.example.Test.Fail", 0), ErrUnknownObject},
		{obj.Call(IfaceProperties+".Get", 0, "org.example.Test", "Nope"), ErrUnknownProperty},
		{obj.Call(IfaceProperties+".Set", 0, "org.example.Test", "Name", godbus.MakeVariant("x")), ErrPropertyReadOnly},
		// A descriptor the method does not take: refused, and closed.
		{obj.Call("org.example.Test.Echo", 0, godbus.UnixFD(pr.Fd())), ErrInvalidArgs},
	} {
		if got := errName(c.call.Err); got != c.want {
			t.Errorf("%s: error %v, want %s", c.call.Method, c.call.Err, c.want)
		}
	}
	// An inline method is answered while a handler that waits holds a
	// worker, and the waiting one answers once released.
	slow := obj.Go("org.example.Test.Slow", 0, nil)
	var q uint32
	if err := obj.Call("org.example.Test.Quick", 0, uint32(41)).Store(&q); err != nil || q != 42 {
		t.Errorf("Quick beside a waiting Slow: %d %v", q, err)
	}
	select {
	case <-slow.Done:
		t.Error("Slow answered before it was released")
	default:
	}
	close(release)
	select {
	case <-slow.Done:
		if slow.Err != nil {
			t.Errorf("Slow: %v", slow.Err)
		}
	case <-time.After(5 * time.Second):
		t.Error("Slow never answered after its release")
	}
	// An Async method holds nothing while its answer is pending: calls
	// after it are answered first, and it answers when its handler says.
	later := obj.Go("org.example.Test.Later", 0, nil, uint32(21))
	if err := obj.Call("org.example.Test.Quick", 0, uint32(1)).Store(&q); err != nil || q != 2 {
		t.Errorf("Quick beside a pending Later: %d %v", q, err)
	}
	select {
	case <-later.Done:
		t.Error("Later answered before its handler replied")
	default:
	}
	close(laterGo)
	select {
	case <-later.Done:
		if err := later.Store(&q); err != nil || q != 42 {
			t.Errorf("Later: %d %v", q, err)
		}
	case <-time.After(5 * time.Second):
		t.Error("Later never answered")
	}
	if err := cl.Object(name, "/obj").Call(IfacePeer+".Ping", 0).Err; err != nil {
		t.Errorf("Ping: %v", err)
	}
	// Still serving after all that.
	var n uint32
	if err := obj.Call("org.example.Test.Structs", 0, []struct {
		A string
		B godbus.Variant
	}{{"x", godbus.MakeVariant(uint64(1))}, {"y", godbus.MakeVariant("z")}}).Store(&n); err != nil || n != 2 {
		t.Errorf("Structs: %d %v", n, err)
	}
	var props map[string]godbus.Variant
	if err := obj.Call(IfaceProperties+".GetAll", 0, "org.example.Test").Store(&props); err != nil || props["Name"].Value() != "thing" {
		t.Errorf("GetAll: %v %v", props, err)
	}
	var xml string
	if err := cl.Object(name, "/").Call(IfaceIntrospectable+".Introspect", 0).Store(&xml); err != nil || !strings.Contains(xml, `<node name="obj"/>`) {
		t.Errorf("Introspect /: %v\n%s", err, xml)
	}
	// The fd arrives, and our copy is closed after the reply: once the
	// client closes its copy, the pipe reports EOF.
	var fd godbus.UnixFD
	if err := obj.Call("org.example.Test.Pipe", 0).Store(&fd); err != nil {
		t.Fatal(err)
	}
	syscall.Close(int(fd))
	done := make(chan error, 1)
	go func() { _, err := pr.Read(make([]byte, 1)); done <- err }()
	select {
	case err := <-done:
		if err != io.EOF {
			t.Errorf("pipe read: %v, want EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("the server kept its copy of the fd open")
	}
}

// TestInlineProps: a Conn's reader serves Get and GetAll of an object
// with InlineProps itself, so a call read after a GetAll is answered
// after it, even while its Props takes its time; on an object without
// it, GetAll goes to a worker and the later call overtakes it.
func TestInlineProps(t *testing.T) {
	addr := testenv.PrivateBus(t)
	for _, inline := range []bool{true, false} {
		gate := make(chan struct{})
		iface := &Interface{Name: "org.example.Test", Properties: []Property{{Name: "Name", Type: "s"}},
			Methods: []Method{{Name: "Quick", Inline: true, Handler: func(*Call) ([]any, error) { return nil, nil }}}}
		obj := &Object{Interfaces: []*Interface{iface}, InlineProps: inline, Props: func(*Call, string) (map[string]godbus.Variant, error) {
			select {
			case <-gate:
			case <-time.After(10 * time.Second):
			}
			return map[string]godbus.Variant{"Name": godbus.MakeVariant("x")}, nil
		}}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		srv, err := Dial(ctx, addr, ConnConfig{Tree: NewTree(ctx, func(godbus.ObjectPath) (*Object, bool) { return obj, true }, slog.New(slog.DiscardHandler))})
		if err != nil {
			t.Fatal(err)
		}
		cl, err := godbus.Connect(addr)
		if err != nil {
			t.Fatal(err)
		}
		o := cl.Object(srv.UniqueName(), "/o")
		all := o.Go(IfaceProperties+".GetAll", 0, nil, "org.example.Test")
		quick := o.Go("org.example.Test.Quick", 0, nil)
		first := ""
		if !inline {
			// The worker holds GetAll until Quick is answered.
			<-quick.Done
			first = "Quick"
			close(gate)
			<-all.Done
		} else {
			go func() { time.Sleep(50 * time.Millisecond); close(gate) }()
			// Done delivers once: wait for the other one after.
			select {
			case <-all.Done:
				first = "GetAll"
				<-quick.Done
			case <-quick.Done:
				first = "Quick"
				<-all.Done
			}
		}
		if want := map[bool]string{true: "GetAll", false: "Quick"}[inline]; first != want || all.Err != nil || quick.Err != nil {
			t.Errorf("InlineProps %v: %s answered first (%v, %v), want %s", inline, first, all.Err, quick.Err, want)
		}
		cl.Close()
		srv.Close()
		cancel()
	}
}
