#!/bin/bash
# check_layers.sh - src/ reads from the top down: no file includes or calls
# into a file that, directly or through others, includes or calls back.
#
# The graph is drawn between src/*.c files from two things:
#   calls     which object defines each symbol another object leaves
#             undefined (nm on $BUILD/obj/*.o: exact, the linker's view);
#   includes  a project header (include/foo.h, src/foo_internal.h, and the
#             project headers those include) points at every .c file that
#             defines a function or variable the header declares.
# Every loop (strongly connected set of files) is one "not ok" line that
# names a cycle through it, with each arrow's reason below as comments.
#
#   tests/check_layers.sh [BUILD]    (objects from `make`, in BUILD/obj)
set -u
BUILD=$(realpath -m "${1:-build}")
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

missing=0
for c in src/*.c; do
	o=$BUILD/obj/$(basename "$c" .c).o
	if [ ! -f "$o" ] || [ "$o" -ot "$c" ]; then
		echo "# no up-to-date object for $c: run make first"
		missing=1
	fi
done
if [ "$missing" -ne 0 ]; then
	echo "not ok - src/ has no loop between files (objects missing)"
	exit 1
fi

# defs: "symbol file.c"; uses: "file.c symbol" (from the objects).
for c in src/*.c; do
	f=$(basename "$c")
	o=$BUILD/obj/${f%.c}.o
	nm -g --defined-only "$o" | awk -v f="$f" 'NF == 3 { print $3, f }'
done | sort -u >"$tmp/defs"
for c in src/*.c; do
	f=$(basename "$c")
	nm -u "$BUILD/obj/${f%.c}.o" | awk -v f="$f" '{ print f, $NF }'
done | sort -u >"$tmp/uses"

# header_path NAME: the project header so named, or nothing.
header_path() {
	local d
	for d in include src; do
		[ -f "$d/$1" ] && { echo "$d/$1"; return; }
	done
}

# includes_of FILE: the project headers FILE names in #include "...".
includes_of() {
	local h
	for h in $(grep -o '^#include "[^"]*"' "$1" | cut -d'"' -f2); do
		header_path "$h"
	done
}

# declared HEADER: the names a header declares or calls, comments left
# out: identifiers before "(" and the names of extern variables.
declared() {
	${CC:-cc} -fpreprocessed -dD -E -P -x c "$1" 2>/dev/null |
		grep -oE '[A-Za-z_][A-Za-z0-9_]*[[:space:]]*\(|^extern[^;(]*;' |
		sed -E 's/^extern.*[^A-Za-z0-9_]([A-Za-z_][A-Za-z0-9_]*)[][ ]*;$/\1/;
			s/[[:space:]]*\($//' | sort -u
}

# owners/H: "file.c symbol" for each file defining what header H declares.
mkdir "$tmp/owners"
for h in include/*.h src/*.h; do
	declared "$h" | join - "$tmp/defs" | awk '{ print $2, $1 }' \
		>"$tmp/owners/${h//\//_}"
done

# edges: "from.c to.c reason"
{
	join -1 2 -2 1 <(sort -k2,2 "$tmp/uses") <(sort -k1,1 "$tmp/defs") |
		awk '$2 != $3 { print $2, $3, "calls " $1 }'
	for c in src/*.c; do
		f=$(basename "$c")
		# the headers it includes, and the ones those include
		todo=$(includes_of "$c" | tr "\n" " ")
		seen=" "
		while [ -n "${todo// /}" ]; do
			read -r h todo <<<"$todo"
			case "$seen" in *" $h "*) continue ;; esac
			seen="$seen$h "
			todo="$todo $(includes_of "$h" | tr "\n" " ")"
			awk -v f="$f" -v h="$h" \
				'$1 != f { print f, $1, "includes " h " (" $2 ")" }' \
				"$tmp/owners/${h//\//_}"
		done
	done
} >"$tmp/edges"

# Reachability (Warshall) over the files, then each loop's members and
# the shortest cycle through its first file (breadth first, inside it).
awk '
{
	# the first reason of an arrow, a call before an include
	reason = $3 " " $4 ($5 == "" ? "" : " " $5)
	if (!(($1, $2) in why) || (why[$1, $2] !~ /^calls/ && $3 == "calls"))
		why[$1, $2] = reason
	e[$1, $2] = 1; r[$1, $2] = 1
	node[$1] = 1; node[$2] = 1
}
END {
	n = 0
	for (v in node) name[++n] = v
	# a stable order: sort the names
	for (i = 2; i <= n; i++) {
		t = name[i]
		for (j = i - 1; j >= 1 && name[j] > t; j--) name[j + 1] = name[j]
		name[j + 1] = t
	}
	for (k = 1; k <= n; k++)
		for (i = 1; i <= n; i++)
			if ((name[i], name[k]) in r)
				for (j = 1; j <= n; j++)
					if ((name[k], name[j]) in r)
						r[name[i], name[j]] = 1
	loops = 0
	for (i = 1; i <= n; i++) {
		a = name[i]
		if (!((a, a) in r) || (a in done)) continue
		members = ""
		delete in_scc
		for (j = 1; j <= n; j++) {
			b = name[j]
			if ((a, b) in r && (b, a) in r) {
				in_scc[b] = 1; done[b] = 1
				members = members " " b
			}
		}
		# breadth first from a, back to a
		delete prev
		head = 1; tail = 0
		q[++tail] = a; seen_from = ""
		delete vis
		vis[a] = 1
		found = 0
		while (head <= tail && !found) {
			u = q[head++]
			for (j = 1; j <= n; j++) {
				w = name[j]
				if (!((u, w) in e) || !(w in in_scc)) continue
				if (w == a) { last = u; found = 1; break }
				if (w in vis) continue
				vis[w] = 1; prev[w] = u; q[++tail] = w
			}
		}
		path = a; m = 0
		for (u = last; u != a; u = prev[u]) stack[++m] = u
		for (k = m; k >= 1; k--) path = path " -> " stack[k]
		path = path " -> " a
		printf "not ok - src/ has a loop between files: %s\n", path
		printf "#   files in this loop:%s\n", members
		from = a
		for (k = m; k >= 0; k--) {
			to = (k >= 1) ? stack[k] : a
			printf "#   %s -> %s: %s\n", from, to, why[from, to]
			from = to
		}
		loops++
	}
	if (loops == 0)
		print "ok - src/ has no loop between files"
	exit loops != 0
}' "$tmp/edges"
