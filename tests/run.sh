#!/bin/bash
# run.sh - run every test program and end with one line "N passed, N failed".
#
# Each program prints TAP-style lines ("ok ..." / "not ok ..."); cmocka is
# asked for TAP.  A program that exits non-zero without a "not ok" line
# counts as one failure of its own.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
export MLB=${MLB:-$PWD/$BUILD/mlb-bpf}
export MLB_ASAN=$PWD/$BUILD/asan/mlb-bpf
export CRR=$PWD/$BUILD/crr
export CMOCKA_MESSAGE_OUTPUT=TAP

passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_one() {
	local name=$1
	shift
	echo "# $name"
	"$@" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	local ok notok
	ok=$(grep -c '^ok ' "$log")
	notok=$(grep -c '^not ok ' "$log")
	passed=$((passed + ok))
	failed=$((failed + notok))
	if [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ]; then
		echo "not ok - $name exited with status $rc"
		failed=$((failed + 1))
	fi
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] && run_one "$(basename "$t")" "$t"
done
# A bounded fuzz run of the configuration parser (FUZZ_SECONDS, default 30).
run_one fuzz_config tests/fuzz/run.sh "$BUILD"
for t in tests/e2e/test_*.sh; do
	[ -f "$t" ] && run_one "$(basename "$t")" bash "$t"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
