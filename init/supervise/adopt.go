package supervise

import (
	"fmt"

	"ginit/init/service"
)

// Adopt reads the pid file of a bgprocess service and watches that pid.
func (s *Supervisor) Adopt(d *service.Description, n service.Notifier) (service.Proc, error) {
	return nil, fmt.Errorf("pid-file %s: adopt not supported yet", d.PIDFile)
}
