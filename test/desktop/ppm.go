package desktop

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"strconv"
)

// maxSide bounds a screen dump's width and height: qemu's displays stay far
// below it, and a hostile header cannot make the parser allocate gigabytes.
const maxSide = 16384

// ParsePPM decodes a binary PPM (P6, maxval 255), the format of qemu's
// screendump, into an RGBA image. Errors name the byte offset.
func ParsePPM(b []byte) (*image.RGBA, error) {
	p := ppmReader{b: b}
	if magic, _ := p.token(); magic != "P6" {
		return nil, fmt.Errorf("ppm: magic %q at offset 0, want P6", magic)
	}
	var v [3]int
	for i, what := range []string{"width", "height", "maxval"} {
		tok, off := p.token()
		n, err := strconv.Atoi(tok)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("ppm: %s %q at offset %d is not a positive number", what, tok, off)
		}
		if i < 2 && n > maxSide {
			return nil, fmt.Errorf("ppm: %s %d at offset %d is over %d", what, n, off, maxSide)
		}
		v[i] = n
	}
	w, h, maxval := v[0], v[1], v[2]
	if maxval != 255 {
		return nil, fmt.Errorf("ppm: maxval %d, only 255 (one byte per sample) is read", maxval)
	}
	// Exactly one whitespace byte separates the header from the samples.
	if p.off >= len(b) || !isSpace(b[p.off]) {
		return nil, fmt.Errorf("ppm: no whitespace after the header at offset %d", p.off)
	}
	data := b[p.off+1:]
	if need := w * h * 3; len(data) < need {
		return nil, fmt.Errorf("ppm: %dx%d needs %d bytes of samples, %d after offset %d", w, h, need, len(data), p.off+1)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i, j := 0, 0; i < w*h; i, j = i+1, j+3 {
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = data[j], data[j+1], data[j+2], 0xff
	}
	return img, nil
}

type ppmReader struct {
	b   []byte
	off int
}

// token skips whitespace and #-comments and returns the next word and its
// offset.
func (p *ppmReader) token() (string, int) {
	for p.off < len(p.b) {
		switch c := p.b[p.off]; {
		case isSpace(c):
			p.off++
		case c == '#':
			if i := bytes.IndexByte(p.b[p.off:], '\n'); i >= 0 {
				p.off += i + 1
			} else {
				p.off = len(p.b)
			}
		default:
			start := p.off
			for p.off < len(p.b) && !isSpace(p.b[p.off]) && p.b[p.off] != '#' {
				p.off++
			}
			return string(p.b[start:p.off]), start
		}
	}
	return "", p.off
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// Share is the fraction of img's pixels within tol of c in each channel.
func Share(img *image.RGBA, c color.RGBA, tol int) float64 {
	n := len(img.Pix) / 4
	if n == 0 {
		return 0
	}
	near := func(a, b uint8) bool { d := int(a) - int(b); return d <= tol && d >= -tol }
	hit := 0
	for i := 0; i < n; i++ {
		p := img.Pix[4*i:]
		if near(p[0], c.R) && near(p[1], c.G) && near(p[2], c.B) {
			hit++
		}
	}
	return float64(hit) / float64(n)
}

// SavePNG keeps a screen dump as a test artifact.
func SavePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
