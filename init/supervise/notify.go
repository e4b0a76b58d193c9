package supervise

import (
	"fmt"

	"ginit/init/service"
)

// notifySocket sets up sd_notify for ready-notification = notify.
func (s *Supervisor) notifySocket(d *service.Description, st *setup) error {
	return fmt.Errorf("ready-notification %q: not supported yet", d.ReadyNotification)
}
