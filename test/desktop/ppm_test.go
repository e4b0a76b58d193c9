package desktop

import (
	"image/color"
	"strings"
	"testing"
)

func TestParsePPM(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		w, h     int
		err      string
	}{
		{"qemu's header", "P6\n2 1\n255\n\x01\x02\x03\xfa\xfb\xfc", 2, 1, ""},
		{"comments and spaces", "P6 # made by hand\n 2\t1 # size\n255 \x01\x02\x03\xfa\xfb\xfc", 2, 1, ""},
		{"extra bytes are left", "P6\n1 1\n255\n\x01\x02\x03\x04", 1, 1, ""},
		{"ascii ppm", "P3\n1 1\n255\n1 2 3\n", 0, 0, `magic "P3"`},
		{"empty", "", 0, 0, `magic ""`},
		{"zero width", "P6\n0 1\n255\n", 0, 0, "width \"0\" at offset 3"},
		{"negative height", "P6\n1 -1\n255\n", 0, 0, "height \"-1\""},
		{"huge", "P6\n99999 99999\n255\n", 0, 0, "width 99999 at offset 3 is over 16384"},
		{"16-bit samples", "P6\n1 1\n65535\n\x00\x01\x00\x02\x00\x03", 0, 0, "maxval 65535"},
		{"short data", "P6\n2 2\n255\n\x01\x02\x03", 0, 0, "needs 12 bytes of samples, 3"},
		{"no separator", "P6\n1 1\n255", 0, 0, "no whitespace after the header at offset 10"},
		{"comment glued to maxval", "P6\n1 1\n255#x\n\x01\x02\x03", 0, 0, "no whitespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := ParsePPM([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
				t.Fatalf("size %v, want %dx%d", b, tc.w, tc.h)
			}
			if got := img.RGBAAt(0, 0); got != (color.RGBA{1, 2, 3, 255}) {
				t.Fatalf("pixel 0,0 = %v", got)
			}
		})
	}
}

func TestShare(t *testing.T) {
	img, err := ParsePPM([]byte("P6\n4 1\n255\n\xe0\x70\x00\xe2\x6e\x02\x00\x00\x00\xff\xff\xff"))
	if err != nil {
		t.Fatal(err)
	}
	orange := color.RGBA{0xe0, 0x70, 0x00, 0xff}
	for _, tc := range []struct {
		tol  int
		want float64
	}{{0, 0.25}, {2, 0.5}, {255, 1}} {
		if got := Share(img, orange, tc.tol); got != tc.want {
			t.Errorf("Share tol %d = %v, want %v", tc.tol, got, tc.want)
		}
	}
}

func TestKeyCodes(t *testing.T) {
	for _, tc := range []struct {
		r    rune
		want string
	}{{'t', "t"}, {'T', "shift+t"}, {'7', "7"}, {'-', "minus"}, {'_', "shift+minus"}, {'\n', "ret"}, {':', "shift+semicolon"}} {
		got, err := KeyCodes(tc.r)
		if err != nil || strings.Join(got, "+") != tc.want {
			t.Errorf("KeyCodes(%q) = %v, %v; want %s", tc.r, got, err, tc.want)
		}
	}
	if _, err := KeyCodes('é'); err == nil || !strings.Contains(err.Error(), `'é'`) {
		t.Errorf("KeyCodes('é'): %v, want an error naming it", err)
	}
}

// FuzzParsePPM: any input gives an image of the announced size or an error,
// never a panic or a huge allocation.
func FuzzParsePPM(f *testing.F) {
	f.Add([]byte("P6\n2 1\n255\n\x01\x02\x03\xfa\xfb\xfc"))
	f.Add([]byte("P6 #c\n1 1 255 abc"))
	f.Add([]byte("P6\n16384 16384\n255\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := ParsePPM(b)
		if err != nil {
			return
		}
		w, h := img.Bounds().Dx(), img.Bounds().Dy()
		if w <= 0 || h <= 0 || w > maxSide || h > maxSide || len(b) < w*h*3 {
			t.Fatalf("accepted %dx%d from %d bytes", w, h, len(b))
		}
	})
}
