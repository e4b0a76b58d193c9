#!/bin/bash
# unit-table.sh GINIT-CHECK UNIT-DIR — run ginit-check on every unit of a
# systemd unit directory, one unit at a time, and print a markdown table of
# how many load cleanly, load with warnings, or are refused, with the keys
# behind the refusals and the warnings. A unit's own problems are the lines
# naming its file (or its drop-ins) and the dependencies it names that do not
# exist; problems of the units it pulls in count for those units.
# Templates (foo@.service) are checked as the instance foo@x.
set -euo pipefail
check=${1:?usage: unit-table.sh GINIT-CHECK UNIT-DIR}
dir=${2:?usage: unit-table.sh GINIT-CHECK UNIT-DIR}
empty=$(mktemp -d)
trap 'rm -rf "$empty"' EXIT
declare -A refused_by warned_by
nload=0 nwarn=0 nref=0 ntotal=0
for f in "$dir"/*.service "$dir"/*.socket "$dir"/*.target; do
	[ -e "$f" ] || continue
	base=$(basename "$f")
	name=${base%.service}
	case $base in
	*@.service) name=${name%@}@x ;;
	*@.*) continue ;; # socket and target templates
	esac
	ntotal=$((ntotal + 1))
	out=$("$check" -s -d "$empty" -U "$dir" "$name" 2>&1 || true)
	own=$(grep -E "^(error|warning): ($dir/$base|$dir/$base\.d/|$dir/${base%%@*}@[^/]*\.d/)" <<<"$out" || true)
	missing=$(grep -E "^error: service '[^']*' not found" <<<"$out" | grep -v "'$name'" || true)
	if grep -q '^error' <<<"$own" || [ -n "$missing" ]; then
		nref=$((nref + 1))
		first=$(grep '^error' <<<"$own" | head -n1 || true)
		why=$(sed -n "s/.*setting '\([^']*\)'.*/\1/p" <<<"$first")
		[ -n "$why" ] || why=$(sed 's/^error: [^ ]*: //' <<<"$first" | cut -c1-70)
		[ -n "$why" ] || why="a dependency that is no unit here: $(sed -n "s/^error: service '\([^']*\)'.*/\1/p" <<<"$missing" | head -n1)"
		refused_by[$why]=$(( ${refused_by[$why]:-0} + 1 ))
	elif [ -n "$own" ]; then
		nwarn=$((nwarn + 1))
		while read -r k; do
			[ -n "$k" ] && warned_by[$k]=$(( ${warned_by[$k]:-0} + 1 ))
		done < <(sed -n -e "s/.*: ignored (\([^)]*\)).*/\1/p" -e "s/.*setting '\([^']*\)'.*/\1/p" <<<"$own" | sort -u)
	else
		nload=$((nload + 1))
	fi
done
echo "| units | load | load with warnings | refused |"
echo "|---|---|---|---|"
echo "| $ntotal | $nload | $nwarn | $nref |"
echo
echo "| refused because of | units |"
echo "|---|---|"
for k in "${!refused_by[@]}"; do echo "| $k | ${refused_by[$k]} |"; done | sort -t'|' -k3 -rn
echo
echo "| warnings about | units |"
echo "|---|---|"
for k in "${!warned_by[@]}"; do echo "| $k | ${warned_by[$k]} |"; done | sort -t'|' -k3 -rn
