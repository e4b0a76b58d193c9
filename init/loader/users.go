package loader

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// pwEntry is one line of the passwd file.
type pwEntry struct {
	name       string
	uid, gid   int
	home, shel string
}

// lookupPasswd finds a user by name or numeric uid in file.
func lookupPasswd(file, who string) (pwEntry, error) {
	f, _, err := openRegular(file)
	if err != nil {
		return pwEntry{}, fmt.Errorf("%s: %w", file, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ":")
		if len(p) < 7 {
			continue
		}
		uid, err1 := strconv.Atoi(p[2])
		gid, err2 := strconv.Atoi(p[3])
		if err1 != nil || err2 != nil {
			continue
		}
		if p[0] == who || p[2] == who {
			return pwEntry{name: p[0], uid: uid, gid: gid, home: p[5], shel: p[6]}, nil
		}
	}
	if err := sc.Err(); err != nil {
		return pwEntry{}, err
	}
	return pwEntry{}, fmt.Errorf("no such user %q", who)
}

// lookupGroup finds a group id by name in file.
func lookupGroup(file, name string) (int, error) {
	f, _, err := openRegular(file)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", file, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ":")
		if len(p) < 3 || p[0] != name {
			continue
		}
		gid, err := strconv.Atoi(p[2])
		if err != nil {
			continue
		}
		return gid, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no such group %q", name)
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
