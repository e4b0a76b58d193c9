package loader

import (
	"fmt"
	"path/filepath"

	"ginit/init/service"
)

// EnableSource names the service whose waits-for.d `enable`/`disable` of d
// edits: from when given, else d's @meta enable-via, else boot (dinit's
// rule).
func EnableSource(from string, d *service.Description) string {
	if from != "" {
		return from
	}
	if d.EnableVia != "" {
		return d.EnableVia
	}
	return "boot"
}

// EnableLink is the symlink in src's single waits-for.d directory that
// enables d, and the target it gets: relative (../NAME) when d's file sits
// beside that directory, so the tree may be moved or mounted elsewhere,
// else d's file. It fails, wrapping service.ErrBadArgument, unless src has
// exactly one waits-for.d.
func EnableLink(d, src *service.Description) (link, target string, err error) {
	if len(src.WaitsForDirs) != 1 {
		return "", "", fmt.Errorf("service '%s' must have exactly one waits-for.d directory to enable or disable '%s' (it has %d): %w",
			src.Name, d.Name, len(src.WaitsForDirs), service.ErrBadArgument)
	}
	dir := src.WaitsForDirs[0]
	target = d.File
	switch {
	case d.File == "":
		target = filepath.Join("..", d.Name)
	case filepath.Dir(d.File) == filepath.Dir(dir):
		target = filepath.Join("..", filepath.Base(d.File))
	}
	return filepath.Join(dir, d.Name), target, nil
}
