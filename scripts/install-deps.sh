#!/bin/sh
# Installs the Debian packages stoker needs to build, test and run, if any is missing.
# Used by `make deps` (and so by `make run`) and `make test-deps` (and so by `make test`), so a
# fresh Debian 12 (debootstrap minbase) root shell needs nothing else. Pass package sets as
# arguments: build (default), test, bench; `--list SET` prints the packages SET adds, one a line
# (the README's lists are checked against it by tests/packaging/test_packaging.sh).
set -eu

# build: the agent, and the fixtures `make run` builds (objcopy/strip/readelf/nm, xz)
build="clang llvm bpftool libbpf-dev libelf-dev libdw-dev libdebuginfod-dev libprotobuf-c-dev protobuf-c-compiler
       libcurl4-openssl-dev zlib1g-dev liblzma-dev libyaml-dev libjson-c-dev pkg-config make gcc g++
       binutils xz-utils"
# test: what tests/ runs besides the build: python3 and its protobuf module, protoc, unshare and
# mount (mount namespace test), strace (counting the agent's opens), capsh (least privilege),
# openssl (TLS test), perf (unwinder against perf), systemd-analyze and /bin/kill (unit check),
# dpkg-shlibdeps, lintian, qemu, busybox and cpio (kernel boot), libFuzzer's runtime, the
# Kubernetes API's types and YAML for the manifest check, and libc's debug symbols (the stripped
# xz's stacks are rooted at libc's __libc_start_call_main, and its frames get lines), Go and Rust
# compilers (programs built at test time: stripped Go, Rust names), the JIT runtimes whose perf
# maps name their code (nodejs, openjdk-17-jdk-headless), libpython3.11 (Python detection in the
# shared interpreter), elfutils' eu-addr2line (the reference for lines and inline frames) and the
# debuginfod server that serves a stripped fixture's debug file.
test="python3 python3-protobuf protobuf-compiler elfutils util-linux mount strace libcap2-bin openssl
      linux-perf systemd procps dpkg-dev lintian qemu-system-x86 busybox-static cpio
      libclang-rt-14-dev python3-kubernetes python3-yaml libc6-dbg golang-go rustc nodejs
      openjdk-17-jdk-headless libpython3.11 debuginfod"
bench="linux-perf bpftrace elfutils python3-minimal"

if [ "${1:-}" = --list ]; then
	case "${2:-}" in
	build) echo $build ;;
	test) echo $test ;;
	bench) echo $bench ;;
	*) echo "usage: install-deps.sh --list build|test|bench" >&2; exit 2 ;;
	esac | tr ' ' '\n'
	exit 0
fi

want=""
for set in ${*:-build}; do
	case "$set" in
	build) want="$want $build" ;;
	test) want="$want $build $test" ;;
	bench) want="$want $build $test $bench" ;;
	*) echo "install-deps: unknown package set '$set'" >&2; exit 2 ;;
	esac
done

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing; run as root or install them with apt-get" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
