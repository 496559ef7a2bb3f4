#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The USB tests, each against boards umockdev mocks: test_usb (the board
# module; the program is the board) and test_usb_daemon.py (darkdaqd and
# darkdaq-store on the boards usb_board_mock plays).  Prints the closing line
# "N passed, N failed" over both; a crash counts as a failure.
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
# Short socket paths for umockdev; ASan tolerates umockdev's preload library.
export TMPDIR=$t
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
passed=0; failed=0

out=$(umockdev-wrapper "$BUILD/tests/usb/test_usb" 2>&1); rc=$?
printf '%s\n' "$out"
p=$(printf '%s\n' "$out" | grep -c '^ok  ')
f=$(printf '%s\n' "$out" | grep -c '^FAIL')
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then echo "test_usb: exited $rc"; f=1; fi
passed=$((passed + p)); failed=$((failed + f))

out=$(DARKDAQ_BUILD=$BUILD PYTHONPATH=$BUILD/gen:proto "$PYTHON" -m pytest -q \
      -p no:cacheprovider --confcutdir=tests tests/usb/test_usb_daemon.py 2>&1); rc=$?
printf '%s\n' "$out"
p=$(printf '%s\n' "$out" | grep -oE '[0-9]+ passed' | tail -1 | grep -oE '[0-9]+')
f=$(printf '%s\n' "$out" | grep -oE '[0-9]+ (failed|error)' | awk '{s+=$1} END {print s+0}')
p=${p:-0}; f=${f:-0}
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
passed=$((passed + p)); failed=$((failed + f))

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
