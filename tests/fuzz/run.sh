#!/bin/bash
# run.sh - a bounded run of the configuration parser's fuzzer, reported as
# one TAP line.  Usage: tests/fuzz/run.sh [BUILD]; FUZZ_SECONDS (default
# 30) bounds the run.
#
# The seed corpus (tests/fuzz/corpus/ and the example file) is copied to
# BUILD/fuzz-corpus, where the fuzzer keeps what it finds, so the source
# tree stays clean.  A crash leaves its input in BUILD/fuzz/ (crash-*,
# leak-*, timeout-*) and the whole log in BUILD/fuzz/fuzz.log.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
FUZZER=$BUILD/fuzz/fuzz_config
CORPUS=$BUILD/fuzz-corpus
LOG=$BUILD/fuzz/fuzz.log

mkdir -p "$CORPUS" "$BUILD/fuzz"
cp tests/fuzz/corpus/*.conf examples/mlb-bpf.conf "$CORPUS"/
if "$FUZZER" "$CORPUS" -dict=tests/fuzz/config.dict \
    -max_total_time="${FUZZ_SECONDS:-30}" -max_len=4096 -timeout=10 \
    -artifact_prefix="$BUILD/fuzz/" -print_final_stats=1 > "$LOG" 2>&1; then
	runs=$(sed -n 's/^Done \([0-9]*\) runs in.*/\1/p' "$LOG")
	time=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$LOG")
	last=$(grep -E '^#[0-9]+.*cov: ' "$LOG" | tail -1)
	echo "ok - fuzz_config: ${runs:-?} runs, no crash"
	echo "#   ${runs:-?} runs in ${time:-?} s;$(echo "$last" |
		grep -oE ' (cov|ft|corp): [^ ]+' | tr '\n' ';' | sed 's/;$//')"
else
	echo "not ok - fuzz_config: the fuzzer failed (log: $LOG)"
	grep -E 'ERROR|fuzz_config:|SUMMARY|Test unit written' "$LOG" |
		head -20 | sed 's/^/#   /'
fi
