#!/bin/sh
# Runs unit-test binaries (built with ASan+UBSan) and prints their summed "N passed, N failed".
# Each binary prints its own summary as its last stdout line; a binary that crashes counts as
# one failure so a crash can never read as a pass.
set -u
passed=0
failed=0
for t in "$@"; do
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$'
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
	if [ -z "$line" ]; then
		echo "not ok - $t crashed or printed no summary (exit $rc)"
		failed=$((failed + 1))
		continue
	fi
	p=${line%% passed*}
	f=${line#*, }; f=${f%% failed*}
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $t exited $rc"
		failed=$((failed + 1))
	fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
