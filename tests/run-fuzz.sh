#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs each named libFuzzer harness for FUZZ_SECONDS, two at a time, seeded
# from tests/fuzz/corpus/NAME if present, and prints "N passed, N failed".
set -u
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
JOBS=${FUZZ_JOBS:-2}
passed=0; failed=0
run_one() {
        local name=$1 work
        work=$(mktemp -d)
        mkdir -p "$work/corpus"
        [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/corpus/"
        ( cd "$work" && ASAN_OPTIONS=detect_leaks=1 "$OLDPWD/$FUZZ_BUILD/fuzz/$name" \
              -max_total_time="$FUZZ_SECONDS" -max_len=65536 -rss_limit_mb=4096 \
              -print_final_stats=1 corpus ) > "$work/log" 2>&1
        local rc=$?
        tail -n 12 "$work/log" | sed "s|^|$name: |"
        if [ $rc -eq 0 ]; then echo "ok   fuzz $name (${FUZZ_SECONDS}s)"; else
                echo "FAIL fuzz $name (exit $rc)"; grep -A30 -m1 'ERROR\|deadly' "$work/log" | head -40
                ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null; fi
        rm -rf "$work"
        return $rc
}
pids=(); names=()
results=$(mktemp -d)
for name in "$@"; do
        ( run_one "$name" > "$results/$name.out"; echo $? > "$results/$name.rc" ) &
        pids+=($!)
        if [ ${#pids[@]} -ge "$JOBS" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
wait
for name in "$@"; do
        cat "$results/$name.out"
        if [ "$(cat "$results/$name.rc")" = 0 ]; then passed=$((passed+1)); else failed=$((failed+1)); fi
done
rm -rf "$results"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
