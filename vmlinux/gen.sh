#!/bin/sh
# Regenerates vmlinux/vmlinux.h from a kernel's BTF. The checked-in header was made with
#   bpftool btf dump file /sys/kernel/btf/vmlinux format c
# on Linux 6.18 x86_64; CO-RE relocates field offsets at load time, so it serves older kernels
# for every field the BPF code reads (probed with bpf_core_field_exists where it may be absent).
set -eu
btf=${1:-/sys/kernel/btf/vmlinux}
out=$(dirname "$0")/vmlinux.h
bpftool btf dump file "$btf" format c > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out from $btf ($(uname -r))"
