#!/bin/sh
# Runs the shipped unit under a systemd of its own, PID 1 of new pid, mount, cgroup, uts and ipc
# namespaces (the host needs no systemd; nothing else is started: the unit gets
# DefaultDependencies=no), and checks the agent starts, loads BPF and writes a profile inside
# the unit's whole sandbox. Prints "ok - ..." / "not ok - ..." lines for test_packaging.sh.
# Needs root. usage: systemd_boot.sh BINARY
set -u
bin=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
# DynamicUser= implies PrivateTmp=: the agent and its output live outside /tmp, and outside
# the repository, whose path the unit's dynamic user may not traverse (a clone in /root,
# mode 0700: the unit then fails to exec the agent, status 203)
dir=/srv/stoker-boot-test
cg2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
cg1=$(awk '$3 == "cgroup" && $4 ~ /name=systemd/ { print $2; exit }' /proc/mounts)

ok() { echo "ok - $1"; }
fail() { echo "not ok - $1"; }

# boot NAME EXTRA: one run of the unit plus the drop-in lines EXTRA; leaves $dir/NAME/
boot() {
	out=$dir/$1
	rm -rf "$out"
	mkdir -p "$out"
	chmod 1777 "$out" # the unit's dynamic user writes the profile here
	install -m 0755 "$bin" "$out/stoker"
	cat >"$out/inner.sh" <<EOF
set -e
if ! mountpoint -q / && [ -z "\${STOKER_BOOT_REROOTED:-}" ]; then
	# / is not a mount point (a chroot), and systemd needs one: the root is bound onto a
	# directory and entered. Only where nothing can propagate back: no mount of ours nor of
	# the host's init is shared.
	if grep -q ' shared:' /proc/self/mountinfo /proc/1/mountinfo; then
		echo "/ is not a mount point and shared mounts exist: cannot isolate the test" >&2
		exit 1
	fi
	mkdir -p "$out/root"
	mount --rbind / "$out/root"
	cd "$out/root"
	STOKER_BOOT_REROOTED=1 exec chroot . sh "$out/inner.sh"
fi
mount --make-rprivate /
mount -o bind,ro /sys /sys
mount -t tmpfs tmpfs /sys/fs/cgroup
mkdir /sys/fs/cgroup/unified
mount -t cgroup2 none /sys/fs/cgroup/unified
if [ -n "$cg1" ]; then
	mkdir /sys/fs/cgroup/systemd
	mount -t cgroup -o none,name=systemd systemd /sys/fs/cgroup/systemd
fi
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /var/lib
mkdir -p /run/systemd/system/stoker.service.d
cp "$repo/packaging/systemd/stoker.service" /run/systemd/system/stoker.service
cat >/run/systemd/system/stoker.service.d/test.conf <<EOT
[Unit]
DefaultDependencies=no
[Service]
ExecStart=
ExecStart=$out/stoker --duration 4s --sample-rate 99 --output $out/p.pb.gz
ReadWritePaths=$out
StandardError=file:$out/stderr
Restart=no
$2
EOT
exec env container=stoker-test /lib/systemd/systemd --system --unit=stoker.service \
	--show-status=no
EOF
	mkdir -p "$cg2/stoker-boot-test" ${cg1:+"$cg1/stoker-boot-test"}
	sh -c 'echo $$ >"$1/cgroup.procs"; [ -z "$2" ] || echo $$ >"$2/cgroup.procs"
		exec unshare --pid --fork --mount --propagation unchanged --cgroup --uts --ipc \
			sh "$3"' sh \
		"$cg2/stoker-boot-test" "${cg1:+$cg1/stoker-boot-test}" "$out/inner.sh" \
		>"$out/pid1.log" 2>&1 &
	launcher=$!
	state=
	for _ in $(seq 60); do
		sleep 1
		pid1=$(pgrep -P "$launcher" | head -1)
		[ -n "$pid1" ] || continue
		# -r -w: PID 1's root too, which is not ours where / was re-rooted (above)
		state=$(nsenter -t "$pid1" -m -p -r -w systemctl show -p ActiveState -p Result \
			-p ExecMainStatus -p NRestarts stoker 2>/dev/null | tr '\n' ' ')
		# done once the agent ran (its stderr is written) and the unit is down again
		[ -s "$out/stderr" ] || continue
		case "$state" in *ActiveState=inactive* | *ActiveState=failed*) break ;; esac
	done
	[ -n "${pid1:-}" ] && kill -9 "$pid1"
	wait "$launcher" 2>/dev/null
	for h in "$cg2" "$cg1"; do
		[ -n "$h" ] && [ -d "$h/stoker-boot-test" ] &&
			find "$h/stoker-boot-test" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	echo "$state" >"$out/state"
}

boot shipped ""
state=$(cat "$dir/shipped/state")
case "$state" in
*Result=success*ExecMainStatus=0*) ok "the unit as shipped starts and the agent exits 0 ($state)" ;;
*) fail "the unit as shipped: $state $(tail -3 "$dir/shipped/stderr" 2>/dev/null)" ;;
esac
if /usr/bin/python3 "$repo/tests/tools/pprof_check.py" validate "$dir/shipped/p.pb.gz" \
	>"$dir/shipped/validate" 2>&1; then
	ok "inside the whole sandbox it loads BPF, samples and writes a valid profile"
else
	fail "profile from the sandboxed unit: $(tail -3 "$dir/shipped/validate")"
fi
# Inside these namespaces, with ProtectControlGroups= the service's /proc is one of the test's
# own pid namespace, where the host's pids the sampler reports do not exist ("failed to read
# maps of pid N: No such file or directory"; on a host PID 1 and the agent share the pid
# namespace): without it the agent must open and symbolize the processes' files.
boot procfs "ProtectControlGroups=no"
loaded=$(sed -n 's/.* \([0-9]*\) files loaded.*/\1/p' "$dir/procfs/stderr" 2>/dev/null)
if [ "${loaded:-0}" -gt 0 ] && grep -q "ExecMainStatus=0" "$dir/procfs/state"; then
	ok "in the rest of the sandbox it reads processes' files: $loaded files loaded"
else
	fail "reading processes' files in the sandbox: $(cat "$dir/procfs/state") $(grep \
		'files loaded' "$dir/procfs/stderr" 2>/dev/null)"
fi
rm -rf "$dir"
