#!/bin/sh
# Builds dinit, the anchor of `make bench`, beside the project: from the
# source checkout $DINIT_SRC if set, else from a clone of $DINIT_GIT
# (default: the public repository) into .cache/dinit-src. The binaries go
# to .cache/dinit/ (dinit, dinitctl); nothing lands in the tree. Prints
# the directory holding them. Rebuilds only when the source's commit moved.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cache="$top/.cache"
out="$cache/dinit"
git_url=${DINIT_GIT:-https://github.com/davmac314/dinit}
mkdir -p "$cache"
if [ -n "${DINIT_SRC:-}" ]; then
	src=$DINIT_SRC
else
	src="$cache/dinit-src"
	if [ ! -d "$src/.git" ]; then
		git clone -q "$git_url" "$src" >&2
	fi
fi
rev=$(git -C "$src" rev-parse HEAD 2>/dev/null || echo nogit)
if [ -x "$out/dinit" ] && [ -x "$out/dinitctl" ] && [ "$(cat "$out/.rev" 2>/dev/null)" = "$rev" ]; then
	echo "$out"
	exit 0
fi
# Build in a copy so a given $DINIT_SRC is left as it was.
build="$cache/dinit-build"
rm -rf "$build"
mkdir -p "$build"
(cd "$src" && tar --exclude=.git -cf - .) | (cd "$build" && tar -xf -)
(
	cd "$build"
	if [ ! -f mconfig ]; then
		# Its defaults (the bench runs dinit in a namespace, -o).
		./configure >/dev/null
	fi
	make -C build all >/dev/null
	make -j"$(nproc 2>/dev/null || echo 2)" -C src dinit dinitctl >/dev/null
) >&2
mkdir -p "$out"
install -m 0755 "$build/src/dinit" "$build/src/dinitctl" "$out/"
echo "$rev" >"$out/.rev"
echo "$out"
