#!/bin/busybox sh
# PID 1 of the test VM: runs the guest-side checks and reports them on the serial console
# between markers the host harness reads; then powers off. Every command's output goes to
# the console too, so a failure can be read in the harness log.
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
echo "STOKER-GUEST-BEGIN"
echo "kernel: $(uname -r)"
echo "perf_event_paranoid: $(cat /proc/sys/kernel/perf_event_paranoid)"
echo "btf: $(ls -la /sys/kernel/btf/vmlinux 2>&1)"

/usr/bin/stoker check --server-url http://127.0.0.1:9 > /tmp/check.txt 2>&1
echo "check-exit: $?"
sed 's/^/check: /' /tmp/check.txt

/fixtures/shares 30 > /dev/null &
fx=$!
sleep 1
/usr/bin/stoker --pid $fx --duration 5s --sample-rate 99 --output /tmp/shares.pb.gz \
	--output /tmp/shares.folded > /tmp/run.txt 2>&1
echo "run-exit: $?"
sed 's/^/run: /' /tmp/run.txt
kill $fx
echo "pid: $fx"
echo "PPROF-BEGIN"
base64 /tmp/shares.pb.gz
echo "PPROF-END"
echo "STOKER-GUEST-DONE"
poweroff -f
