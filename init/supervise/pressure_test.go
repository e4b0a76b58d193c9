package supervise

import (
	"os"
	"path/filepath"
	"testing"

	"ginit/init/service"
)

func TestSomeAvg10(t *testing.T) {
	tests := []struct {
		name, in string
		want     float64
		wantErr  bool
	}{
		{"cpu", "some avg10=12.50 avg60=3.00 avg300=1.00 total=12345\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", 12.5, false},
		{"some after full", "full avg10=99.00 avg60=0 avg300=0 total=0\nsome avg10=0.25 avg60=0 avg300=0 total=1\n", 0.25, false},
		{"no some line", "full avg10=1.00\n", 0, true},
		{"no avg10", "some avg60=1.00\n", 0, true},
		{"bad number", "some avg10=x\n", 0, true},
		{"empty", "", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := someAvg10([]byte(tc.in))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("someAvg10 = %v, %v; want %v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestPSIRead(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"cpu": "some avg10=40.00 avg60=0 avg300=0 total=0\n",
		"io":  "some avg10=2.50 avg60=0 avg300=0 total=0\nfull avg10=1.00 avg60=0 avg300=0 total=0\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := PSI{Dir: dir}.ReadPressure()
	if err != nil || got != (service.Pressure{CPU: 40, IO: 2.5}) {
		t.Fatalf("ReadPressure = %+v, %v", got, err)
	}
	if _, err := (PSI{Dir: filepath.Join(dir, "none")}).ReadPressure(); err == nil {
		t.Error("no error without the files")
	}
}
