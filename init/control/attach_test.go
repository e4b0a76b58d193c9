package control

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestAttachFramesRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 2*MaxAttachInput+5)
	var b []byte
	b = AppendAttachWindow(b, Winsize{Rows: 24, Cols: 80, XPixel: 1, YPixel: 65535})
	b = AppendAttachInput(b, []byte("hello\r"))
	b = AppendAttachInput(b, big)
	r := bufio.NewReader(bytes.NewReader(b))
	kind, _, w, err := ReadAttachFrame(r, nil)
	if err != nil || kind != AttachWindow || w != (Winsize{24, 80, 1, 65535}) {
		t.Fatalf("window: %q %v %v", kind, w, err)
	}
	var got []byte
	for {
		kind, p, _, err := ReadAttachFrame(r, nil)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || kind != AttachInput {
			t.Fatalf("input: %q %v", kind, err)
		}
		got = append(got, p...)
	}
	if want := append([]byte("hello\r"), big...); !bytes.Equal(got, want) {
		t.Fatalf("input of %d bytes, want %d", len(got), len(want))
	}
}

func TestAttachFrameErrors(t *testing.T) {
	for name, in := range map[string]string{
		"kind":      "x\x00\x01a",
		"empty":     "i\x00\x00",
		"too big":   "i\x10\x01",
		"window":    "w\x00\x07abcdefg",
		"truncated": "i\x00\x05ab",
	} {
		_, _, _, err := ReadAttachFrame(bufio.NewReader(bytes.NewReader([]byte(in))), nil)
		if !errors.Is(err, ErrAttachFrame) {
			t.Errorf("%s: %v, want ErrAttachFrame", name, err)
		}
	}
}

// FuzzAttachFrame: any bytes give frames or an error, never a panic, and a
// frame read re-encodes to the bytes it came from.
func FuzzAttachFrame(f *testing.F) {
	f.Add(AppendAttachInput(AppendAttachWindow(nil, Winsize{24, 80, 0, 0}), []byte("ls\r")))
	f.Add([]byte("i\xff\xff"))
	f.Add([]byte("w\x00\x08\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		var again []byte
		consumed := 0
		for {
			kind, p, w, err := ReadAttachFrame(r, nil)
			if err != nil {
				break
			}
			switch kind {
			case AttachInput:
				if len(p) == 0 || len(p) > MaxAttachInput {
					t.Fatalf("input of %d bytes", len(p))
				}
				again = AppendAttachInput(again, p)
				consumed += 3 + len(p)
			case AttachWindow:
				again = AppendAttachWindow(again, w)
				consumed += 11
			}
		}
		if !bytes.Equal(again, data[:consumed]) {
			t.Fatalf("re-encoded %q, read from %q", again, data[:consumed])
		}
	})
}
