package sessiond

import (
	"sort"
	"strconv"
)

func sortStrings(l []string) { sort.Strings(l) }

func sortBy[T any](l []T, key func(T) string) {
	sort.Slice(l, func(i, j int) bool { return key(l[i]) < key(l[j]) })
}

// utoa formats a uid, pid or id in decimal, as the state files and
// object paths spell it.
func utoa(u uint32) string { return strconv.FormatUint(uint64(u), 10) }

// remove returns l without id, in a new slice: a user's list is shared
// with the published view (see publish), so it is never changed in
// place, only appended to or replaced.
func remove(l []string, id string) []string {
	out := make([]string, 0, len(l))
	for _, x := range l {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}
