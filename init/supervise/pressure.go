package supervise

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"ginit/init/service"
)

// PSI is the kernel's pressure stall information, read from Dir (normally
// /proc/pressure) for the manager's start-pressure thresholds.
type PSI struct {
	Dir string
}

// ReadPressure reads the "some avg10" of the cpu and io files.
func (p PSI) ReadPressure() (service.Pressure, error) {
	var out service.Pressure
	for _, f := range []struct {
		name string
		v    *float64
	}{{"cpu", &out.CPU}, {"io", &out.IO}} {
		path := filepath.Join(p.Dir, f.name)
		data, err := os.ReadFile(path)
		if err != nil {
			return service.Pressure{}, fmt.Errorf("pressure: %w", err)
		}
		if *f.v, err = someAvg10(data); err != nil {
			return service.Pressure{}, fmt.Errorf("%s: %w", path, err)
		}
	}
	return out, nil
}

// someAvg10 finds avg10 on the "some" line of a PSI file.
func someAvg10(data []byte) (float64, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] != "some" {
			continue
		}
		for _, f := range fields[1:] {
			if v, ok := strings.CutPrefix(f, "avg10="); ok {
				x, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return 0, fmt.Errorf("avg10: %w", err)
				}
				return x, nil
			}
		}
		return 0, fmt.Errorf("no avg10 on the \"some\" line")
	}
	return 0, fmt.Errorf("no \"some\" line")
}
