package sessiond

import (
	"sort"
)

func sortStrings(l []string) { sort.Strings(l) }

func sortBy[T any](l []T, key func(T) string) {
	sort.Slice(l, func(i, j int) bool { return key(l[i]) < key(l[j]) })
}

func utoa(u uint32) string {
	if u == 0 {
		return "0"
	}
	var b [10]byte
	i := len(b)
	for u > 0 {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
	}
	return string(b[i:])
}

func remove(l []string, id string) []string {
	out := l[:0]
	for _, x := range l {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}
