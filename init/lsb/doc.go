// Package lsb reads init scripts as ginit services: Debian's /etc/init.d
// scripts by their LSB headers (Provides, Required-Start, Should-Start,
// X-Start-Before, Default-Start, X-Interactive) and BSD rc.d scripts by
// their rcorder comments (PROVIDE, REQUIRE, BEFORE, KEYWORD). A script
// becomes a scripted service that runs `SCRIPT start` and `SCRIPT stop`,
// with its dependencies as ginit edges. A Source implements
// loader.UnitSource; ginit asks it after the systemd units, so a native
// description or a unit of the same name wins.
package lsb
