# e2e.sh - sourced first by every end-to-end test: it runs from the top of
# the tree, with the TAP and test-bed helpers, and a fresh work directory
# $WORK that the test's cleanup trap removes.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
. tests/lib/bed.sh
WORK=$(mktemp -d)
