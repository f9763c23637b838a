#!/bin/bash
# run.sh - run every test program and end with one line "N passed, N failed".
#
# Each program prints TAP-style lines ("ok ..." / "not ok ..."); cmocka is
# asked for TAP.  TESTS="balance lan demo" runs only the tests so named
# (test_balance, test_lan.sh, ...; "fuzz" is the fuzzer's run, "demo" is
# scripts/demo.sh checked for a split), as make vmtest's smoke set does.  A program that exits non-zero without a "not ok" line
# counts as one failure of its own.
set -u
BUILD=$(realpath -m "${1:-build}")
cd "$(dirname "$0")/.."
export MLB=${MLB:-$BUILD/mlb-bpf}
export MLB_ASAN=$BUILD/asan/mlb-bpf
export CRR=$BUILD/crr
export CMOCKA_MESSAGE_OUTPUT=TAP

passed=0
failed=0
skipped=0			# where this kernel lacks what a check needs
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_one() {
	local name=$1
	shift
	echo "# $name"
	"$@" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	local ok notok skip
	ok=$(grep -c '^ok ' "$log")
	# cmocka's TAP reports a skipped test as "not ok N # SKIP name"
	skip=$(grep -c '^not ok .*# SKIP' "$log")
	notok=$(($(grep -c '^not ok ' "$log") - skip))
	passed=$((passed + ok))
	failed=$((failed + notok))
	skipped=$((skipped + skip))
	if [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ]; then
		echo "not ok - $name exited with status $rc"
		failed=$((failed + 1))
	fi
}

# wanted NAME: whether TESTS (empty: everything but the demo) names it.
wanted() {
	local w
	[ -z "${TESTS:-}" ] && [ "$1" != demo ] && return 0
	for w in ${TESTS:-}; do
		[ "$w" = "$1" ] && return 0
	done
	return 1
}

# The demo, as a check: it succeeds and both uplinks carry its IPv4 and
# its IPv6 connections once attached.
demo_check() {
	local out rc
	out=$(scripts/demo.sh "$MLB" "$CRR" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	if [ "$rc" -eq 0 ] && [ "$(printf '%s\n' "$out" |
	    grep -cE 'left by up0: [1-9][0-9]*, by up1: [1-9]')" -eq 2 ]; then
		echo "ok - demo: both uplinks carry IPv4 and IPv6"
	else
		echo "not ok - demo: status $rc, or no split"
	fi
}

for t in "$BUILD"/tests/test_*; do
	name=$(basename "$t")
	[ -x "$t" ] && wanted "${name#test_}" && run_one "$name" "$t"
done
# A bounded fuzz run of the configuration parser (FUZZ_SECONDS, default 30).
wanted fuzz && run_one fuzz_config tests/fuzz/run.sh "$BUILD"
wanted demo && run_one demo demo_check
# src/ read from the top: no file includes or calls back into one above.
# The layers check reads the source, not the kernel: a vmtest guest,
# where it takes half an hour under emulation, leaves it to the host's
# run unless TESTS names it.
if [ -z "${VMTEST_GUEST:-}" ] || [ -n "${TESTS:-}" ]; then
	wanted layers && run_one layers tests/check_layers.sh "$BUILD"
fi
for t in tests/e2e/test_*.sh; do
	name=$(basename "$t" .sh)
	[ -f "$t" ] && wanted "${name#test_}" && run_one "$name.sh" bash "$t"
done

[ "$skipped" -eq 0 ] || echo "# $skipped skipped (see the \"# skip\" lines)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
