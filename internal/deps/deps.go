// Package deps pins the project's chosen dependencies in go.mod until every
// one of them is imported by real code; delete it once that is true.
package deps

import (
	_ "github.com/containerd/cgroups/v3/cgroup2"
	_ "github.com/godbus/dbus/v5"
	_ "github.com/msteinert/pam/v2"
	_ "golang.org/x/sys/unix"
	_ "gopkg.in/ini.v1"
)
