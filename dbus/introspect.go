package dbus

import (
	"encoding/xml"
	"strings"
)

const introspectHeader = `<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
`

// The standard interfaces as every sd-bus object lists them.
const standardXML = ` <interface name="org.freedesktop.DBus.Peer">
  <method name="Ping"/>
  <method name="GetMachineId">
   <arg type="s" name="machine_uuid" direction="out"/>
  </method>
 </interface>
 <interface name="org.freedesktop.DBus.Introspectable">
  <method name="Introspect">
   <arg name="xml_data" type="s" direction="out"/>
  </method>
 </interface>
 <interface name="org.freedesktop.DBus.Properties">
  <method name="Get">
   <arg name="interface_name" direction="in" type="s"/>
   <arg name="property_name" direction="in" type="s"/>
   <arg name="value" direction="out" type="v"/>
  </method>
  <method name="GetAll">
   <arg name="interface_name" direction="in" type="s"/>
   <arg name="props" direction="out" type="a{sv}"/>
  </method>
  <method name="Set">
   <arg name="interface_name" direction="in" type="s"/>
   <arg name="property_name" direction="in" type="s"/>
   <arg name="value" direction="in" type="v"/>
  </method>
  <signal name="PropertiesChanged">
   <arg type="s" name="interface_name"/>
   <arg type="a{sv}" name="changed_properties"/>
   <arg type="as" name="invalidated_properties"/>
  </signal>
 </interface>
`

func xmlAttr(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), `"`, "&#34;")
}

// IntrospectXML renders o in the D-Bus introspection format. Hidden
// properties are left out; property annotations follow sd-bus.
func IntrospectXML(o *Object) string {
	var b strings.Builder
	b.WriteString(introspectHeader)
	b.WriteString("<node>\n")
	b.WriteString(standardXML)
	for _, i := range o.Interfaces {
		writeIface(&b, i)
	}
	for _, c := range o.Children {
		b.WriteString(` <node name="` + xmlAttr(c) + `"/>` + "\n")
	}
	b.WriteString("</node>\n")
	return b.String()
}

func writeIface(b *strings.Builder, i *Interface) {
	b.WriteString(` <interface name="` + xmlAttr(i.Name) + `">` + "\n")
	for _, m := range i.Methods {
		if len(m.In)+len(m.Out) == 0 {
			b.WriteString(`  <method name="` + xmlAttr(m.Name) + `"/>` + "\n")
			continue
		}
		b.WriteString(`  <method name="` + xmlAttr(m.Name) + `">` + "\n")
		for _, a := range m.In {
			b.WriteString(`   <arg type="` + xmlAttr(a.Type) + `" name="` + xmlAttr(a.Name) + `" direction="in"/>` + "\n")
		}
		for _, a := range m.Out {
			b.WriteString(`   <arg type="` + xmlAttr(a.Type) + `" name="` + xmlAttr(a.Name) + `" direction="out"/>` + "\n")
		}
		b.WriteString("  </method>\n")
	}
	for _, p := range i.Properties {
		var ann string
		switch p.Flags {
		case PropHidden:
			continue
		case PropConst:
			ann = "const"
		case PropSilent:
			ann = "false"
		}
		open := `  <property name="` + xmlAttr(p.Name) + `" type="` + xmlAttr(p.Type) + `" access="read"`
		if ann == "" {
			b.WriteString(open + "/>\n")
			continue
		}
		b.WriteString(open + ">\n")
		b.WriteString(`   <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="` + ann + `"/>` + "\n")
		b.WriteString("  </property>\n")
	}
	for _, s := range i.Signals {
		if len(s.Args) == 0 {
			b.WriteString(`  <signal name="` + xmlAttr(s.Name) + `"/>` + "\n")
			continue
		}
		b.WriteString(`  <signal name="` + xmlAttr(s.Name) + `">` + "\n")
		for _, a := range s.Args {
			b.WriteString(`   <arg type="` + xmlAttr(a.Type) + `" name="` + xmlAttr(a.Name) + `"/>` + "\n")
		}
		b.WriteString("  </signal>\n")
	}
	b.WriteString(" </interface>\n")
}
