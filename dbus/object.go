package dbus

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"

	godbus "github.com/godbus/dbus/v5"
)

// Standard interface names the Tree implements for every object.
const (
	IfaceIntrospectable = "org.freedesktop.DBus.Introspectable"
	IfaceProperties     = "org.freedesktop.DBus.Properties"
	IfacePeer           = "org.freedesktop.DBus.Peer"
)

// Arg is one named argument of a method or signal.
type Arg struct {
	Name string
	Type string // D-Bus signature of this argument
}

// Method describes one method and the function that serves it.
type Method struct {
	Name    string
	In, Out []Arg
	// Handler returns the reply body (matching Out) or an error; an *Error
	// keeps its name, any other error is sent as Failed.
	Handler func(c *Call) ([]any, error)
	// Inline says Handler answers from published immutable data and never
	// waits for an owner goroutine or a reply on the serving Conn (which
	// its own blocked reader would have to read); at most a cached bus
	// credential lookup on the client connection. A Conn then runs it on
	// its reader, saving the two goroutine wake-ups of a hand-off per call:
	// read calls' throughput is bound by those, not by CPU (perf). A
	// godbus.Conn ignores it.
	Inline bool
	// Async, when set, serves the call instead of Handler: it must not
	// block (Inline's rules), and it answers by calling reply once, from
	// any goroutine, typically the owner's once the change it queued is
	// done. A Conn runs it on its reader, so a change costs no worker
	// and none of the two wake-ups of handing the call to one and the
	// answer back; a godbus.Conn runs it and waits for reply.
	Async func(c *Call, reply func(out []any, err error))
}

// PropFlag says how a property changes, as in sd-bus vtables.
type PropFlag int

// Property flags. The zero value is a property that changes without a
// signal (clients poll it).
const (
	PropSilent     PropFlag = iota
	PropConst               // never changes
	PropEmitChange          // PropertiesChanged carries the new value
	PropHidden              // answered by Get/GetAll, absent from Introspect
)

// Property describes one read-only property. Values come from the
// Object's Props function.
type Property struct {
	Name  string
	Type  string
	Flags PropFlag
}

// Signal describes one signal.
type Signal struct {
	Name string
	Args []Arg
}

// Interface is the static description of one D-Bus interface.
type Interface struct {
	Name       string
	Methods    []Method
	Properties []Property
	Signals    []Signal
}

// Signature returns the concatenated types of args.
func Signature(args []Arg) string {
	var b strings.Builder
	for _, a := range args {
		b.WriteString(a.Type)
	}
	return b.String()
}

// sigIs reports whether sig is the signature of args (without building
// it: this is checked at every call).
func sigIs(args []Arg, sig string) bool {
	for _, a := range args {
		if !strings.HasPrefix(sig, a.Type) {
			return false
		}
		sig = sig[len(a.Type):]
	}
	return sig == ""
}

// Prop returns the description of property name, if declared.
func (i *Interface) Prop(name string) (Property, bool) {
	for _, p := range i.Properties {
		if p.Name == name {
			return p, true
		}
	}
	return Property{}, false
}

// Object is one node of the tree as the Lookup function resolved it.
type Object struct {
	Interfaces []*Interface
	// Props returns the current values of the properties of iface. It may
	// be nil when no interface has properties.
	Props func(c *Call, iface string) (map[string]godbus.Variant, error)
	// InlineProps says Props follows Method.Inline's rules for this
	// object (answers from published data, never waits), so a Conn's
	// reader serves Get and GetAll itself.
	InlineProps bool
	// Children names the child nodes listed by Introspect.
	Children []string
}

// LookupFunc resolves a path. For intermediate nodes (no interfaces of
// their own) it returns an Object with only Children.
type LookupFunc func(path godbus.ObjectPath) (*Object, bool)

// Tree serves the objects found by a LookupFunc: sessiond hands it to
// its own Conn (Dial); it is also a godbus Handler (godbus.WithHandler)
// for tests and tools that serve on a godbus.Conn.
type Tree struct {
	lookup LookupFunc
	log    *slog.Logger
	ctx    context.Context
}

// NewTree returns a Tree; ctx bounds the lifetime of every Call.
func NewTree(ctx context.Context, lookup LookupFunc, log *slog.Logger) *Tree {
	return &Tree{lookup: lookup, log: log, ctx: ctx}
}

// LookupObject implements godbus.Handler.
func (t *Tree) LookupObject(path godbus.ObjectPath) (godbus.ServerObject, bool) {
	o, ok := t.lookup(path)
	if !ok {
		// Answer like sd-bus (UnknownObject), not godbus (NoSuchObject).
		return &serverObject{tree: t, path: path}, true
	}
	return &serverObject{tree: t, path: path, obj: o}, true
}

type serverObject struct {
	tree *Tree
	path godbus.ObjectPath
	obj  *Object
}

// LookupInterface implements godbus.ServerObject. The empty name (a call
// without interface header) searches every interface for the member.
func (o *serverObject) LookupInterface(name string) (godbus.Interface, bool) {
	if o.obj == nil {
		return &serverIface{obj: o, name: name}, true
	}
	if name == "" || name == IfaceIntrospectable || name == IfaceProperties {
		return &serverIface{obj: o, name: name}, true
	}
	for _, i := range o.obj.Interfaces {
		if i.Name == name {
			return &serverIface{obj: o, name: name, iface: i}, true
		}
	}
	return nil, false
}

type serverIface struct {
	obj   *serverObject
	name  string
	iface *Interface // nil for the standard interfaces and for ""
}

func (i *serverIface) LookupMethod(name string) (godbus.Method, bool) {
	if i.obj.obj == nil {
		path := i.obj.path
		return &serverMethod{obj: i.obj, iface: i.name, anySig: true, m: &Method{Name: name, Handler: func(*Call) ([]any, error) {
			return nil, Errorf(ErrUnknownObject, "Unknown object '%s'.", path)
		}}}, true
	}
	switch {
	case i.iface != nil:
		for k := range i.iface.Methods {
			if i.iface.Methods[k].Name == name {
				return &serverMethod{obj: i.obj, iface: i.iface.Name, m: &i.iface.Methods[k]}, true
			}
		}
		return nil, false
	case i.name == IfaceIntrospectable || (i.name == "" && name == "Introspect"):
		if m, ok := i.obj.standard(IfaceIntrospectable, name); ok {
			return m, true
		}
	case i.name == IfaceProperties:
		return i.obj.standard(IfaceProperties, name)
	}
	if i.name != "" {
		return nil, false
	}
	for _, ifc := range i.obj.obj.Interfaces {
		for k := range ifc.Methods {
			if ifc.Methods[k].Name == name {
				return &serverMethod{obj: i.obj, iface: ifc.Name, m: &ifc.Methods[k]}, true
			}
		}
	}
	return i.obj.standard(IfaceProperties, name)
}

func (o *serverObject) standard(iface, name string) (godbus.Method, bool) {
	for _, m := range standardMethods {
		if m.iface == iface && m.m.Name == name {
			mm := m.m
			// Introspect and Set answer from the resolved Object alone.
			mm.Inline = iface == IfaceIntrospectable || name == "Set" || (o.obj != nil && o.obj.InlineProps)
			return &serverMethod{obj: o, iface: iface, m: &mm}, true
		}
	}
	return nil, false
}

// Call is one incoming method call.
type Call struct {
	Ctx context.Context
	// Client is for the handler's own calls (the bus daemon, polkit); on
	// a Conn from Dial it is ConnConfig.Client, which reaches the same
	// bus; nil: there is none (Conn fails).
	Client    *Client
	Sender    string
	Path      godbus.ObjectPath
	Interface string
	Member    string
	Body      []any
	Object    *Object

	after []func()
}

// Conn is Client's connection, dialled on the first call that needs it.
func (c *Call) Conn() (*godbus.Conn, error) { return c.Client.Conn() }

// Store decodes the body into ptrs (godbus.Store rules); a mismatch is
// InvalidArgs.
func (c *Call) Store(ptrs ...any) error {
	if err := godbus.Store(c.Body, ptrs...); err != nil {
		return Errorf(ErrInvalidArgs, "%s.%s: %v", c.Interface, c.Member, err)
	}
	return nil
}

// AfterReply registers f to run once the reply (or error) has been sent,
// e.g. to close the sender's copy of a file descriptor in the reply.
func (c *Call) AfterReply(f func()) { c.after = append(c.after, f) }

// serverMethod adapts a Method to godbus: it checks the signature itself
// (so a wrong call gets a precise InvalidArgs) and sends the reply itself.
type serverMethod struct {
	obj    *serverObject
	iface  string
	m      *Method
	anySig bool // skip the signature check (the unknown-object answer)
}

func (m *serverMethod) NumArguments() int     { return 1 }
func (m *serverMethod) NumReturns() int       { return 0 }
func (m *serverMethod) ArgumentValue(int) any { return (*Call)(nil) }
func (m *serverMethod) ReturnValue(int) any   { return nil }
func (m *serverMethod) String() string        { return m.iface + "." + m.m.Name }

// pendingCall carries what DecodeArguments learned to Call.
type pendingCall struct {
	call     *Call
	serial   uint32
	wantRply bool
	sigErr   *Error
	// own is the Conn that sends the reply; nil sends it on godbus, the
	// connection the call came in on (the godbus Handler path).
	own    *Conn
	godbus *godbus.Conn
}

// DecodeArguments implements godbus.ArgumentDecoder. It never fails:
// errors are answered from Call so that every reply goes one way.
func (m *serverMethod) DecodeArguments(conn *godbus.Conn, sender string, msg *godbus.Message, body []any) ([]any, error) {
	cm := callOf(msg)
	// From here on godbus must not answer: Call sends the reply.
	msg.Flags |= godbus.FlagNoReplyExpected
	p := m.pending(ClientOf(conn), sender, cm.serial, cm.flags, cm.sig, body)
	p.godbus = conn
	return []any{p}, nil
}

// pending checks the call's signature (from its header, not the decoded
// body: godbus decodes structs as []any) and builds the Call handlers
// see.
func (m *serverMethod) pending(client *Client, sender string, serial uint32, flags godbus.Flags, sig string, body []any) *pendingCall {
	p := &pendingCall{serial: serial, wantRply: flags&godbus.FlagNoReplyExpected == 0}
	if !m.anySig && !sigIs(m.m.In, sig) {
		p.sigErr = Errorf(ErrInvalidArgs, "Invalid arguments '%s' to call %s.%s(), expecting '%s'.", sig, m.iface, m.m.Name, Signature(m.m.In))
	}
	p.call = &Call{
		Ctx: m.obj.tree.ctx, Client: client, Sender: sender, Path: m.obj.path,
		Interface: m.iface, Member: m.m.Name, Body: body, Object: m.obj.obj,
	}
	return p
}

// Call implements godbus.Method.
func (m *serverMethod) Call(args ...any) ([]any, error) {
	p, ok := args[0].(*pendingCall)
	if !ok {
		return nil, fmt.Errorf("dbus: %s called without DecodeArguments", m)
	}
	if p.sigErr == nil && m.m.Async != nil {
		if p.own != nil {
			m.safeAsync(p.call, func(out []any, err error) { m.finish(p, out, err) })
			return nil, nil
		}
		// godbus runs Call on a goroutine of its own: wait there.
		type answer struct {
			out []any
			err error
		}
		ch := make(chan answer, 1)
		m.safeAsync(p.call, func(out []any, err error) { ch <- answer{out, err} })
		a := <-ch
		m.finish(p, a.out, a.err)
		return nil, nil
	}
	var out []any
	err := error(p.sigErr)
	if p.sigErr == nil {
		out, err = m.safeHandle(p.call)
	}
	m.finish(p, out, err)
	return nil, nil
}

// finish sends the reply, if one is wanted, and runs what was to run
// after it.
func (m *serverMethod) finish(p *pendingCall, out []any, err error) {
	if p.wantRply {
		m.reply(p, out, err)
	}
	for _, f := range p.call.after {
		f()
	}
}

// safeAsync runs Async; a panic is answered as safeHandle answers it
// (unless the handler replied already).
func (m *serverMethod) safeAsync(c *Call, reply func([]any, error)) {
	var once sync.Once
	answer := func(out []any, err error) { once.Do(func() { reply(out, err) }) }
	defer func() {
		if r := recover(); r != nil {
			m.obj.tree.log.Error("method handler panicked", "method", m.String(), "panic", r)
			answer(nil, Errorf(ErrFailed, "internal error in %s", m))
		}
	}()
	m.m.Async(c, answer)
}

func (m *serverMethod) safeHandle(c *Call) (out []any, err error) {
	defer func() {
		if r := recover(); r != nil {
			m.obj.tree.log.Error("method handler panicked", "method", m.String(), "panic", r)
			err = Errorf(ErrFailed, "internal error in %s", m)
		}
	}()
	return m.m.Handler(c)
}

func (m *serverMethod) reply(p *pendingCall, out []any, err error) {
	var err2 error
	if p.own != nil {
		err2 = p.own.sendReply(p.call.Sender, p.serial, out, err)
	} else {
		err2 = p.godbus.Send(replyMessage(p.call.Sender, p.serial, out, err), nil).Err
	}
	if err2 != nil {
		m.obj.tree.log.Warn("sending reply failed", "method", m.String(), "err", err2)
	}
}

// Dict is an a{sv} that keeps its order on the wire: godbus encodes Go
// maps in random order. It is sent as an array of (sv) structs, whose
// encoding is byte for byte that of a{sv} dict entries (both 8-aligned
// string then variant); bodySignature gives it the a{sv} signature.
type Dict []DictEntry

// DictEntry is one entry of a Dict.
type DictEntry struct {
	Key   string
	Value godbus.Variant
}

// bodySignature is godbus.SignatureOf with top-level Dicts as a{sv}.
// A body without a Dict (most replies) takes godbus's signature as is,
// without printing and parsing it again.
// replyMessage is the answer to the call serial from dest ("" on a
// peer-to-peer connection): out, or err as a D-Bus error (an *Error keeps
// its name, any other is Failed).
func replyMessage(dest string, serial uint32, out []any, err error) *godbus.Message {
	// Sized for destination, reply serial, signature and error name:
	// the map never grows while the reply is built.
	r := &godbus.Message{Headers: make(map[godbus.HeaderField]godbus.Variant, 4)}
	if dest != "" {
		r.Headers[godbus.FieldDestination] = godbus.MakeVariant(dest)
	}
	r.Headers[godbus.FieldReplySerial] = godbus.MakeVariant(serial)
	if err != nil {
		e := asError(err)
		r.Type = godbus.TypeError
		r.Headers[godbus.FieldErrorName] = godbus.MakeVariant(e.Name)
		r.Body = []any{e.Message}
	} else {
		r.Type = godbus.TypeMethodReply
		r.Body = out
		if len(out) == 1 {
			if e, ok := out[0].(*Encoded); ok {
				r.Body = e.values
			}
		}
	}
	if len(r.Body) > 0 {
		r.Headers[godbus.FieldSignature] = godbus.MakeVariant(bodySignature(r.Body))
	}
	return r
}

func bodySignature(body []any) godbus.Signature {
	if !slices.ContainsFunc(body, isDict) {
		return godbus.SignatureOf(body...)
	}
	var b strings.Builder
	for _, x := range body {
		if _, ok := x.(Dict); ok {
			b.WriteString("a{sv}")
			continue
		}
		b.WriteString(godbus.SignatureOf(x).String())
	}
	return godbus.ParseSignatureMust(b.String())
}

func isDict(x any) bool {
	_, ok := x.(Dict)
	return ok
}

// standardMethods are Introspectable and Properties, served for every node.
var standardMethods = []struct {
	iface string
	m     Method
}{
	{IfaceIntrospectable, Method{Name: "Introspect", Out: []Arg{{"xml_data", "s"}}, Handler: introspectHandler}},
	{IfaceProperties, Method{Name: "Get", In: []Arg{{"interface_name", "s"}, {"property_name", "s"}}, Out: []Arg{{"value", "v"}}, Handler: propGet}},
	{IfaceProperties, Method{Name: "GetAll", In: []Arg{{"interface_name", "s"}}, Out: []Arg{{"props", "a{sv}"}}, Handler: propGetAll}},
	{IfaceProperties, Method{Name: "Set", In: []Arg{{"interface_name", "s"}, {"property_name", "s"}, {"value", "v"}}, Handler: propSet}},
}

func introspectHandler(c *Call) ([]any, error) {
	return []any{IntrospectXML(c.Object)}, nil
}

func (o *Object) iface(name string) *Interface {
	for _, i := range o.Interfaces {
		if i.Name == name {
			return i
		}
	}
	return nil
}

func propGet(c *Call) ([]any, error) {
	var iname, pname string
	if err := c.Store(&iname, &pname); err != nil {
		return nil, err
	}
	all, err := getAll(c, iname)
	if err != nil {
		return nil, err
	}
	v, ok := all[pname]
	if !ok {
		return nil, Errorf(ErrUnknownProperty, "Unknown property '%s' on interface '%s'.", pname, iname)
	}
	return []any{v}, nil
}

func propGetAll(c *Call) ([]any, error) {
	var iname string
	if err := c.Store(&iname); err != nil {
		return nil, err
	}
	ifaces := c.Object.Interfaces
	if iname != "" {
		i := c.Object.iface(iname)
		if i == nil {
			// The standard interfaces (empty) or UnknownInterface.
			all, err := getAll(c, iname)
			if err != nil {
				return nil, err
			}
			return []any{orderedProps(nil, all)}, nil
		}
		ifaces = []*Interface{i}
	}
	// sd-bus answers GetAll("") with the properties of every interface.
	var out Dict
	for _, i := range ifaces {
		all, err := getAll(c, i.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, orderedProps(i, all)...)
	}
	if out == nil {
		out = Dict{}
	}
	return []any{out}, nil
}

// orderedProps lists vals in the declaration order of i's properties
// (sd-bus answers in vtable order, and loginctl prints in reply order),
// then any undeclared names sorted, so every GetAll answers alike.
func orderedProps(i *Interface, vals map[string]godbus.Variant) Dict {
	out := make(Dict, 0, len(vals))
	seen := make(map[string]bool, len(vals))
	if i != nil {
		for _, p := range i.Properties {
			if v, ok := vals[p.Name]; ok && !seen[p.Name] {
				out = append(out, DictEntry{Key: p.Name, Value: v})
				seen[p.Name] = true
			}
		}
	}
	var rest []string
	for k := range vals {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		out = append(out, DictEntry{Key: k, Value: vals[k]})
	}
	return out
}

func getAll(c *Call, iname string) (map[string]godbus.Variant, error) {
	i := c.Object.iface(iname)
	if i == nil {
		if iname == IfaceIntrospectable || iname == IfaceProperties || iname == IfacePeer {
			return map[string]godbus.Variant{}, nil
		}
		return nil, Errorf(ErrUnknownInterface, "Unknown interface '%s'.", iname)
	}
	if len(i.Properties) == 0 || c.Object.Props == nil {
		return map[string]godbus.Variant{}, nil
	}
	return c.Object.Props(c, iname)
}

func propSet(c *Call) ([]any, error) {
	var iname, pname string
	var v godbus.Variant
	if err := c.Store(&iname, &pname, &v); err != nil {
		return nil, err
	}
	i := c.Object.iface(iname)
	if i == nil {
		return nil, Errorf(ErrUnknownInterface, "Unknown interface '%s'.", iname)
	}
	if _, ok := i.Prop(pname); !ok {
		return nil, Errorf(ErrUnknownProperty, "Unknown property '%s'.", pname)
	}
	return nil, Errorf(ErrPropertyReadOnly, "Property '%s' is not writable.", pname)
}

// ChildNames returns the sorted, de-duplicated first path elements below
// prefix among paths (for intermediate nodes' Introspect).
func ChildNames(prefix godbus.ObjectPath, paths []godbus.ObjectPath) []string {
	p := string(prefix)
	if p != "/" {
		p += "/"
	}
	seen := map[string]bool{}
	var out []string
	for _, q := range paths {
		rest, ok := strings.CutPrefix(string(q), p)
		if !ok || rest == "" {
			continue
		}
		name, _, _ := strings.Cut(rest, "/")
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
