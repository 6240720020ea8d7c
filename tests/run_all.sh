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
# the corpus replayed and a second of new inputs per target (make fuzz runs a minute each)
bg fuzz env FUZZ_SECONDS=1 tests/fuzz/run.sh
fuzz_pid=$!
bg packaging tests/packaging/test_packaging.sh
packaging_pid=$!
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
collect packaging $packaging_pid
echo "side-by-side suites done after $(($(date +%s) - start)) s"
# The end-to-end suites in two lanes side by side, each suite alone in its lane. Their
# sample floors follow the CPU time the profiled process got (harness.enough), not the wall
# clock, so a lane slowed by the other still holds them; each lane's suites take about as long.
# Logs print in a fixed order once both lanes are done.
lane() {
	for s in "$@"; do
		case $s in
		integration) cmd="$PY tests/integration/test_agent.py" ;;
		*) cmd="$PY tests/integration/test_$s.py" ;;
		esac
		$cmd >"$log/$s.log" 2>&1
		echo $? >"$log/$s.rc"
	done
}
LANE_A="integration unwind python spans go lines"
LANE_B="push security claims jit"
lane $LANE_A &
lane_a=$!
lane $LANE_B &
lane_b=$!
wait $lane_a $lane_b
for s in $LANE_A $LANE_B; do
	echo "== $s"
	cat "$log/$s.log"
	tally "$s" "$(cat "$log/$s.rc" 2>/dev/null || echo 1)" "$log/$s.log"
done
echo "two-lane suites done after $(($(date +%s) - start)) s"
# alone: idle samples against the host's idle time
suite claims-quiet $PY tests/integration/test_claims.py --quiet
# alone: an emulated guest beside other work once gave hot_a 0.53 of 0.60 in its profile
suite kernels tests/kernels/run.sh
echo "wall time: $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
