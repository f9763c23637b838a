# tap.sh - assertions for the shell tests: each prints "ok - what" or
# "not ok - what" (with the detail on the next lines, as comments).

tap_ok() { echo "ok - $*"; }
tap_fail() { echo "not ok - $*"; }

# check WHAT CMD...: pass when CMD succeeds.
check() {
	local what=$1
	shift
	if "$@"; then tap_ok "$what"; else tap_fail "$what"; fi
}

# check_eq WHAT EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then
		tap_ok "$1"
	else
		tap_fail "$1"
		echo "#   expected: $2"
		echo "#   actual:   $3"
	fi
}

# check_same WHAT FILE1 FILE2: files identical, diff shown otherwise.
check_same() {
	if diff -u "$2" "$3" >/dev/null; then
		tap_ok "$1"
	else
		tap_fail "$1"
		diff -u "$2" "$3" | sed 's/^/#   /' | head -40
	fi
}
