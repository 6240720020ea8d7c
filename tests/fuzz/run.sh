#!/bin/sh
# Runs every libFuzzer target for FUZZ_SECONDS (default 60) on a working copy of its seed
# corpus, then replays every saved crash reproducer in tests/fuzz/regressions/<target>/.
# Prints per target: executions, execs/s, coverage; then totals and "N passed, N failed".
# `make fuzz` uses the default; `make test` runs it with FUZZ_SECONDS=1. FUZZ_RUNS=N stops each
# target after N executions instead (with FUZZ_SECONDS as the time cap); FUZZ_TARGETS picks some.
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-60}
passed=0
failed=0
total_execs=0
printf '%-21s %12s %10s %8s %8s\n' target execs "execs/s" cov ft
# the targets are the sources: a stale binary of a renamed target is not run, a target that
# was not built fails
for src in tests/fuzz/fuzz_*.c; do
	t=$(basename "$src" .c)
	bin="build/fuzz/$t"
	# FUZZ_TARGETS="fuzz_elf_symbols fuzz_spool" runs only those
	case " ${FUZZ_TARGETS:-$t} " in *" $t "*) ;; *) continue ;; esac
	if [ ! -x "$bin" ]; then
		failed=$((failed + 1))
		echo "not ok - $t is not built ($bin; make fuzz-build)"
		continue
	fi
	work="build/fuzz/work-$t"
	mkdir -p "$work" "build/fuzz/crashes-$t"
	seeds="tests/fuzz/corpus/$t"
	log="build/fuzz/$t.log"
	# FUZZ_RUNS bounds executions instead of time (a long run to a fixed count per target)
	"$bin" -max_total_time="$secs" $( [ -n "${FUZZ_RUNS:-}" ] && echo "-runs=$FUZZ_RUNS" ) \
		-print_final_stats=1 -max_len=65536 -rss_limit_mb=2048 \
		-timeout=10 -artifact_prefix="build/fuzz/crashes-$t/" "$work" \
		$( [ -d "$seeds" ] && echo "$seeds" ) > "$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+')
	ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+')
	printf '%-21s %12s %10s %8s %8s\n' "$t" "${execs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}"
	total_execs=$((total_execs + ${execs:-0}))
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "not ok - $t found a crash (exit $rc): see $log and build/fuzz/crashes-$t/"
		grep -E "ERROR|SUMMARY" "$log" | head -n 5
	fi
	# every saved reproducer, always
	for r in tests/fuzz/regressions/"$t"/*; do
		[ -f "$r" ] || continue
		if "$bin" "$r" > "$log.replay" 2>&1; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
			echo "not ok - $t regression $r"
			grep -E "ERROR|SUMMARY" "$log.replay" | head -n 5
		fi
	done
done
echo "total executions: $total_execs in ${secs}s per target"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
