#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every unit-test program given, then the Python tests, and prints the
# closing line "N passed, N failed".  A program that crashes counts as one
# failure besides the tests it reported.
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
passed=0; failed=0
for t in "$@"; do
        out=$("$t" 2>&1); rc=$?
        printf '%s\n' "$out" | sed "s|^|$(basename "$t"): |"
        p=$(printf '%s\n' "$out" | grep -c '^ok  ')
        f=$(printf '%s\n' "$out" | grep -c '^FAIL ')
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
                echo "$(basename "$t"): exited $rc"; f=1
        fi
        passed=$((passed + p)); failed=$((failed + f))
done
if [ -z "${NO_PYTEST:-}" ] && ls tests/test_*.py >/dev/null 2>&1; then
        out=$(DARKDAQ_BUILD=$BUILD PYTHONPATH=$BUILD/python:$BUILD/gen:proto \
              "$PYTHON" -m pytest -q -p no:cacheprovider tests 2>&1); rc=$?
        printf '%s\n' "$out"
        p=$(printf '%s\n' "$out" | grep -oE '[0-9]+ passed' | tail -1 | grep -oE '[0-9]+')
        f=$(printf '%s\n' "$out" | grep -oE '[0-9]+ (failed|error)' | awk '{s+=$1} END {print s+0}')
        p=${p:-0}; f=${f:-0}
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        passed=$((passed + p)); failed=$((failed + f))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
