#!/bin/sh
# The whole suite behind `make test`: unit tests (ASan+UBSan), the decoder's own tests, the
# clang build check, and the end-to-end tests with real BPF. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
passed=0
failed=0
log=build/test-logs
mkdir -p "$log"

# Adds the "N passed, N failed" of a suite's output (last such line) to the totals; a suite
# that printed no summary, ran no test at all ("0 passed, 0 failed") or exited non-zero
# without failures counts as one failure.
tally() {
	name=$1 rc=$2 out=$3
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	if [ -z "$line" ]; then
		echo "not ok - $name printed no summary (exit $rc)"
		failed=$((failed + 1))
		return
	fi
	p=$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
	f=$(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name ran no test"
		failed=$((failed + 1))
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited $rc"
		failed=$((failed + 1))
	fi
	echo "== $name: $p passed, $f failed"
}

suite() {
	name=$1
	shift
	echo "== $name"
	"$@" >"$log/$name.log" 2>&1
	rc=$?
	cat "$log/$name.log"
	tally "$name" "$rc" "$log/$name.log"
}

# Suites that assert nothing about sampling run side by side first (the machine has cores to
# spare while one waits on another); their logs print in a fixed order.
bg() {
	name=$1
	shift
	("$@" >"$log/$name.log" 2>&1; echo $? >"$log/$name.rc") &
}

collect() {
	name=$1
	wait "$2"
	echo "== $name"
	cat "$log/$name.log"
	tally "$name" "$(cat "$log/$name.rc")" "$log/$name.log"
}

start=$(date +%s)
rm -f "$log"/*.rc
bg unit tests/run_unit.sh $(find build/tests -maxdepth 1 -name "test_*" -type f -perm -u+x | sort)
unit_pid=$!
bg fuzz env FUZZ_SECONDS=3 tests/fuzz/run.sh
fuzz_pid=$!
bg pprof-check $PY tests/tools/test_pprof_check.py
pprof_pid=$!
bg receiver $PY tests/tools/test_pyroscope_receiver.py
receiver_pid=$!
if make -s check-clang >"$log/clang.log" 2>&1; then
	clang_ok=1
else
	clang_ok=0
fi
collect unit $unit_pid
collect pprof-check $pprof_pid
collect receiver $receiver_pid
if [ $clang_ok -eq 1 ]; then
	echo "== clang build: 1 passed, 0 failed"
	passed=$((passed + 1))
else
	cat "$log/clang.log"
	echo "not ok - agent does not build clean with clang"
	failed=$((failed + 1))
fi
collect fuzz $fuzz_pid
echo "side-by-side suites done after $(($(date +%s) - start)) s"
suite integration $PY tests/integration/test_agent.py
suite push $PY tests/integration/test_push.py
suite unwind $PY tests/integration/test_unwind.py
suite python $PY tests/integration/test_python.py
suite spans $PY tests/integration/test_spans.py
suite security $PY tests/integration/test_security.py
suite go $PY tests/integration/test_go.py
suite jit $PY tests/integration/test_jit.py
suite lines $PY tests/integration/test_lines.py
suite claims $PY tests/integration/test_claims.py
suite packaging tests/packaging/test_packaging.sh
# alone: an emulated guest beside other work once gave hot_a 0.53 of 0.60 in its profile
suite kernels tests/kernels/run.sh
echo "wall time: $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
