package sessiond

import "sort"

func sortStrings(l []string) { sort.Strings(l) }

func sortBy[T any](l []T, key func(T) string) {
	sort.Slice(l, func(i, j int) bool { return key(l[i]) < key(l[j]) })
}
