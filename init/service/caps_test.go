package service

import (
	"reflect"
	"testing"
)

func TestParseCapabilities(t *testing.T) {
	tests := []struct {
		in      string
		want    CapSpec
		wantErr bool
	}{
		{"^cap_net_bind_service", CapSpec{Ambient: []int{10}}, false},
		{"^CAP_NET_RAW, !cap_sys_admin !cap_sys_module", CapSpec{Ambient: []int{13}, BoundDrop: []int{21, 16}}, false},
		{"cap_net_raw", CapSpec{}, true},
		{"^cap_flying", CapSpec{}, true},
		{"^net_raw", CapSpec{}, true},
	}
	for _, tc := range tests {
		got, err := ParseCapabilities(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("ParseCapabilities(%q) = %+v, %v", tc.in, got, err)
		}
	}
	if b, err := ParseSecurebits("noroot keep-caps-locked"); err != nil || b != 1|1<<5 {
		t.Errorf("ParseSecurebits = %b, %v", b, err)
	}
	if _, err := ParseSecurebits("root"); err == nil {
		t.Error("bad secure bit accepted")
	}
}
