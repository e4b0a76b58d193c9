package server_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"ginit/init/control"
	"ginit/init/control/server/servertest"
)

// DialSync's blocking client answers as Dial's does, decodes a list of
// thousands whole, and still ends a request with its context.
func TestDialSync(t *testing.T) {
	b := &servertest.Backend{}
	_, path := servertest.Start(t, b, nil)
	list := make([]control.ServiceInfo, 3000)
	for i := range list {
		list[i] = control.ServiceInfo{Name: fmt.Sprintf("s%04d", i), State: "started", PID: 100 + i, Deps: []string{"boot"}}
	}
	release := make(chan struct{})
	b.SetFn(func(r control.Request) control.Response {
		switch r.Service {
		case "list":
			return control.Response{Code: control.OK, Services: list}
		case "stall":
			<-release
		}
		return control.Response{Code: control.OK, Message: string(r.Op) + " " + r.Service}
	})
	defer close(release)

	c, err := control.DialSync(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		name string
		req  control.Request
		want func(control.Response) error
	}{
		{"status", control.Request{Op: control.OpStatus, Service: "x"}, func(r control.Response) error {
			if r.Message != "status x" {
				return fmt.Errorf("message %q", r.Message)
			}
			return nil
		}},
		{"list", control.Request{Op: control.OpStatus, Service: "list"}, func(r control.Response) error {
			if len(r.Services) != len(list) {
				return fmt.Errorf("%d services, want %d", len(r.Services), len(list))
			}
			for i, si := range r.Services {
				if si.Name != list[i].Name || si.PID != list[i].PID || len(si.Deps) != 1 || si.Deps[0] != "boot" {
					return fmt.Errorf("service %d: %+v", i, si)
				}
			}
			return nil
		}},
		{"again on the same connection", control.Request{Op: control.OpStatus, Service: "y"}, func(r control.Response) error {
			if r.Message != "status y" {
				return fmt.Errorf("message %q", r.Message)
			}
			return nil
		}},
	} {
		r, err := c.Do(context.Background(), tc.req)
		if err == nil {
			err = tc.want(r)
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}

	if _, _, err := c.Attach(context.Background(), "x"); err == nil {
		t.Error("Attach on a DialSync client: no error")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Do(ctx, control.Request{Op: control.OpStatus, Service: "stall"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stalled request: %v, want the context's end", err)
	}

	if _, err := control.DialSync(filepath.Join(t.TempDir(), "none")); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("no socket: %v, want ENOENT", err)
	}
}
