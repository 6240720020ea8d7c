#!/bin/sh
# `make run`: profiles the whole host for 10 s at 99 Hz while the bundled demo workload runs,
# writes profile.pb.gz and flame.html, and prints the ten hottest functions.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "make run: stoker needs root (or CAP_BPF and CAP_PERFMON) to load its BPF sampler" >&2
	exit 1
fi
build/fixtures/shares 12 >/dev/null &
demo=$!
trap 'kill $demo 2>/dev/null || true' EXIT INT TERM
echo "profiling the whole host for 10 s at 99 Hz (demo workload: build/fixtures/shares, pid $demo)"
build/stoker --duration 10s --sample-rate 99 --output profile.pb.gz --output flame.html --top 10
echo
echo "wrote $(pwd)/profile.pb.gz (pprof) and $(pwd)/flame.html (open it in a browser)"
