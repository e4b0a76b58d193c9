// Package sdunit reads systemd unit files (.service, .socket, .target)
// into ginit service descriptions, so that the units a distribution ships
// run under ginit without a hand-written description.
//
// The unit syntax is parsed by github.com/coreos/go-systemd/v22/unit; this
// package finds the files (unit paths, drop-ins, templates, .wants
// directories), expands specifiers and environment references, and maps
// each key onto a service.Description field. Every key is classified:
// understood (mapped), ignored with a warning (safe: documentation,
// hardening ginit does not apply, logging targets) or refused (ignoring it
// would change what the service does). A refused key makes the load fail
// with the file and line of the key, so a unit never runs half-understood.
//
// A Source implements loader.UnitSource: the dinit loader asks it for a
// name no description file has. Loading is pure like the loader's: files
// are read, nothing is started.
package sdunit
