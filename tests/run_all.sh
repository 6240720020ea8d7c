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

start=$(date +%s)
suite unit tests/run_unit.sh $(find build/tests -maxdepth 1 -name "test_*" -type f -perm -u+x | sort)
suite pprof-check $PY tests/tools/test_pprof_check.py
suite receiver $PY tests/tools/test_pyroscope_receiver.py
if make -s check-clang >"$log/clang.log" 2>&1; then
	echo "== clang build: 1 passed, 0 failed"
	passed=$((passed + 1))
else
	cat "$log/clang.log"
	echo "not ok - agent does not build clean with clang"
	failed=$((failed + 1))
fi
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
suite fuzz env FUZZ_SECONDS=3 tests/fuzz/run.sh
suite kernels tests/kernels/run.sh
echo "wall time: $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
