package daemon

import (
	"errors"
	"reflect"
	"testing"
)

// fakeLogs is a LogReader holding one service's output.
type fakeLogs struct {
	data string
	err  error
}

func (f fakeLogs) CatLog(string, bool) ([]byte, bool, error) { return []byte(f.data), false, f.err }

// TestLastLines: status shows the end of the kept output, by lines.
func TestLastLines(t *testing.T) {
	tests := []struct {
		name string
		logs fakeLogs
		n    int
		want []string
	}{
		{"none kept", fakeLogs{err: errors.New("no log buffer")}, 3, nil},
		{"empty", fakeLogs{}, 3, nil},
		{"fewer", fakeLogs{data: "a\nb\n"}, 3, []string{"a", "b"}},
		{"more", fakeLogs{data: "a\nb\nc\nd\n"}, 2, []string{"c", "d"}},
		{"unterminated", fakeLogs{data: "a\nb"}, 5, []string{"a", "b"}},
		{"blank line kept", fakeLogs{data: "a\n\nb\n"}, 5, []string{"a", "", "b"}},
	}
	for _, tt := range tests {
		if got := lastLines(tt.logs, "s", tt.n); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
