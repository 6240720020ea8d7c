#!/bin/sh
# Installs the Debian packages stoker needs to build, test and run, if any is missing.
# Used by `make deps` (and so by `make run` and `make test`) so a fresh Debian 12 root shell needs
# nothing else. Pass extra package sets as arguments: build (default), test, bench.
set -eu

build="clang llvm bpftool libbpf-dev libelf-dev libdw-dev libprotobuf-c-dev protobuf-c-compiler
       libcurl4-openssl-dev zlib1g-dev liblzma-dev libyaml-dev libjson-c-dev pkg-config make gcc g++"
test="python3-protobuf protobuf-compiler elfutils binutils util-linux libcap2-bin dpkg-dev lintian
      systemd qemu-system-x86 busybox-static cpio libclang-rt-14-dev xz-utils linux-perf"
bench="linux-perf bpftrace elfutils python3-minimal"

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
# npm validates the Kubernetes manifests; any working node+npm will do (some images ship
# NodeSource's nodejs, which bundles npm and conflicts with Debian's npm package).
case " $* " in *" test "*|*" bench "*)
	command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm" ;;
esac
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
