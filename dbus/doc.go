// Package dbus is the D-Bus plumbing sessiond (and any other ginit bus
// service) builds on: declarative interface descriptions from which the
// introspection XML is generated, a godbus Handler that routes calls to
// objects resolved at call time (so dynamic objects need no export or
// unexport), the standard Properties and Introspectable interfaces,
// logind's error names, sd-bus object path label escaping, signals
// addressed to one peer, and the caller's credentials as reported by the
// bus daemon.
//
// Method handlers receive a *Call and return the reply body or an error;
// the Tree sends the reply itself so that file descriptors handed to the
// caller can be closed once the reply is on the wire (see Call.AfterReply).
package dbus
