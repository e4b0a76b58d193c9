#!/bin/sh
# Run every Go fuzz target of the module for a bounded time each.
#   FUZZTIME=3s test/fuzz.sh    (make test: a few seconds per target)
#   FUZZTIME=2m test/fuzz.sh    (make fuzz)
# go test accepts one -fuzz target per package and run, so targets are listed
# first and run one by one; a failure stops with go test's report (the failing
# input is written under the package's testdata/fuzz/ for a seed commit).
set -eu
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-3s}
n=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# One go list for every package and its directory (the module's paths hold
# no spaces).
for pd in $($GO list -f '{{.ImportPath}}={{.Dir}}' ./...); do
	pkg=${pd%%=*} dir=${pd#*=}
	# No test files or no fuzz target: the list is empty.
	for t in $(grep -hs '^func Fuzz' "$dir"/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do
		echo "fuzz $pkg $t ($FUZZTIME)"
		# go's fuzzing engine can report "context deadline exceeded" when
		# its time runs out while a worker is busy (no input failed: nothing
		# is written to testdata): that run is repeated, up to twice.
		tries=0
		until $GO test -count=1 -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" "$pkg" >"$out" 2>&1; do
			tries=$((tries + 1))
			if [ $tries -le 2 ] && grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written' "$out"; then
				echo "  (fuzzing engine timed out at the end of the run, no failing input: again)"
				continue
			fi
			cat "$out"; exit 1
		done
		n=$((n + 1))
	done
done
echo "fuzz: $n targets, $FUZZTIME each: no failure"
