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
	if d.Ext().EnableVia != "" {
		return d.Ext().EnableVia
	}
	return "boot"
}

// EnableLink is the symlink in src's single waits-for.d directory that
// enables d, and the target it gets: relative (../NAME) when d's file sits
// beside that directory, so the tree may be moved or mounted elsewhere,
// else d's file. It fails, wrapping service.ErrBadArgument, unless src has
// exactly one waits-for.d.
func EnableLink(d, src *service.Description) (link, target string, err error) {
	switch n := len(src.Ext().WaitsForDirs); {
	case n == 0:
		where := "its description"
		if src.File != "" {
			where = src.File
		}
		return "", "", fmt.Errorf("service '%s' has no waits-for.d directory to enable '%s' from: add a line \"waits-for.d = %s.d\" to %s and create that directory (or use --from SERVICE): %w",
			src.Name, d.Name, src.Name, where, service.ErrBadArgument)
	case n > 1:
		return "", "", fmt.Errorf("service '%s' has %d waits-for.d directories: enable and disable need exactly one to link '%s' in: %w",
			src.Name, n, d.Name, service.ErrBadArgument)
	}
	dir := src.Ext().WaitsForDirs[0]
	target = d.File
	switch {
	case d.File == "":
		target = filepath.Join("..", d.Name)
	case filepath.Dir(d.File) == filepath.Dir(dir):
		target = filepath.Join("..", filepath.Base(d.File))
	}
	return filepath.Join(dir, d.Name), target, nil
}
