package control

import (
	"fmt"
	"testing"
)

func BenchmarkCodecList(b *testing.B) {
	var list []ServiceInfo
	for i := 0; i < 1000; i++ {
		list = append(list, ServiceInfo{Name: fmt.Sprintf("service-%04d", i), State: "started", Target: "started", PID: 1000 + i, Deps: []string{"a", "b"}})
	}
	resp := Response{Services: list}
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = AppendResponse(buf, &resp)
		if _, err := DecodeResponse(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCodecRequest(b *testing.B) {
	req := Request{Op: OpStatus, Service: "foo", Env: []string{"A=1"}}
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = AppendRequest(buf, &req)
		if _, err := DecodeRequest(buf); err != nil {
			b.Fatal(err)
		}
	}
}
