module ginit

go 1.26.8

require (
	github.com/godbus/dbus/v5 v5.2.4
	github.com/msteinert/pam/v2 v2.1.0
	golang.org/x/sys v0.50.0
	gopkg.in/ini.v1 v1.67.3
)

require github.com/coreos/go-systemd/v22 v22.7.0

require github.com/spf13/pflag v1.1.0
