#!/bin/sh
# Packaging checks: the systemd unit verifies and runs sandboxed under a systemd of its own,
# the .deb builds with no lintian errors and installs on this machine with a working
# `stoker check`, the Kubernetes manifests pass the
# API schema, and everything the Containerfile copies exists. Ends "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
passed=0
failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
fail() { echo "not ok - $1"; failed=$((failed + 1)); }
# Every outside program the checks below run, with its Debian package: a missing one fails
# here by name (scripts/install-deps.sh test installs them all) instead of as a confusing
# check further down.
for tp in systemd-analyze:systemd /bin/kill:procps strip:binutils dpkg-shlibdeps:dpkg-dev \
	dpkg-deb:dpkg lintian:lintian apt-get:apt /lib/systemd/systemd:systemd unshare:util-linux \
	nsenter:util-linux pgrep:procps; do
	command -v "${tp%%:*}" >/dev/null 2>&1 && ok "${tp%%:*} is installed" ||
		fail "${tp%%:*} is not installed (Debian package ${tp#*:}; scripts/install-deps.sh test)"
done

# systemd: verify the unit as installed (binary path rewritten to the build)
tmp=$(mktemp -d)
sed "s|/usr/bin/stoker|$(pwd)/build/stoker|" packaging/systemd/stoker.service > "$tmp/stoker.service"
if out=$(systemd-analyze verify --man=no "$tmp/stoker.service" 2>&1) && [ -z "$out" ]; then
	ok "systemd-analyze verify stoker.service"
else
	fail "systemd-analyze verify stoker.service: $out"
fi
# the unit runs, sandbox and all, under a systemd of its own (tests/packaging/systemd_boot.sh)
boot=$(sh tests/packaging/systemd_boot.sh "$(pwd)/build/stoker" 2>&1)
[ -n "$boot" ] || fail "systemd_boot.sh printed nothing"
while IFS= read -r line; do
	case "$line" in
	"ok - "*) ok "${line#ok - }" ;;
	*) fail "${line#not ok - }" ;;
	esac
done <<EOF
$boot
EOF
# the sandbox's overall exposure as systemd rates it (README: 5.0 before the hardening of #17)
score=$(systemd-analyze security --offline=true "$tmp/stoker.service" 2>/dev/null |
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ -n "$score" ] && awk "BEGIN { exit !($score <= 3.0) }"; then
	ok "systemd-analyze security: exposure $score (at most 3.0)"
else
	fail "systemd-analyze security: exposure '$score', want at most 3.0"
fi
for k in "Type=notify" "NoNewPrivileges=yes" "ProtectSystem=strict" "ProtectHome=read-only" \
	"StateDirectory=stoker" "AmbientCapabilities=CAP_BPF CAP_PERFMON" "MemoryMax=" "CPUQuota=" \
	"CPUWeight=" "PrivateDevices=yes" "ProtectControlGroups=yes" "RestrictSUIDSGID=yes" \
	"SystemCallFilter=@system-service bpf perf_event_open"; do
	grep -q "^$k" packaging/systemd/stoker.service && ok "unit has $k" || fail "unit lacks $k"
done

# Debian package
if deb=$(scripts/build-deb.sh 2>&1); then ok "make deb builds $deb"; else fail "make deb: $deb"; deb=; fi
if [ -n "$deb" ]; then
	# lintian's own verdict: exit 0 means no error tags; a missing lintian is no pass
	if ! command -v lintian >/dev/null 2>&1; then
		fail "lintian not installed (scripts/install-deps.sh test)"
	elif lint=$(lintian --fail-on error --tag-display-limit 0 "$deb" 2>&1); then
		ok "lintian: no errors"
	else
		fail "lintian errors: $(echo "$lint" | grep -E '^E:' || echo "$lint")"
	fi
	dpkg-deb -f "$deb" Depends | grep -q "libbpf1" && ok "Depends lists libbpf1" || fail "Depends"
	if apt-get install -y -qq "./$deb" >"$tmp/apt.log" 2>&1; then
		ok "apt-get install ./$deb"
		if /usr/bin/stoker check --spool-dir "" >"$tmp/check.log" 2>&1; then
			ok "installed stoker check passes"
		else
			fail "installed stoker check: $(cat "$tmp/check.log")"
		fi
		# is-enabled reads unit files, so it answers without a running systemd; anything
		# but "disabled" (enabled, unknown unit, an error) fails
		state=$(systemctl is-enabled stoker 2>&1)
		[ "$state" = disabled ] && ok "postinst enables nothing (is-enabled: disabled)" ||
			fail "systemctl is-enabled stoker: '$state', want disabled"
		if grep -nE 'systemctl[^#]*(start|enable|restart)|deb-systemd-invoke|invoke-rc' \
			packaging/debian/postinst >"$tmp/starts" 2>&1; then
			fail "postinst starts or enables the service: $(cat "$tmp/starts")"
		else
			ok "postinst starts nothing"
		fi
		[ -f /etc/stoker/stoker.yaml ] && ok "default config installed" || fail "no config"
		apt-get purge -y -qq stoker >/dev/null 2>&1 && ok "purge" || fail "purge"
	else
		fail "apt-get install: $(tail -5 "$tmp/apt.log")"
	fi
fi

# Kubernetes manifests against the API's own types (Debian's python3-kubernetes, offline); a
# manifest with a misspelt field must fail, or the check could pass on anything
if out=$(/usr/bin/python3 tests/packaging/validate_k8s.py packaging/kubernetes/*.yaml 2>&1); then
	ok "Kubernetes manifests valid ($(echo "$out" | tail -1))"
else
	fail "Kubernetes manifests: $out"
fi
sed 's/^\( *\)containers:/\1containres:/' packaging/kubernetes/stoker.yaml >"$tmp/bad.yaml"
if out=$(/usr/bin/python3 tests/packaging/validate_k8s.py "$tmp/bad.yaml" 2>&1); then
	fail "the manifest check accepted a misspelt field: $out"
else
	echo "$out" | grep -q "unknown field 'containres'" && ok "the manifest check refuses a misspelt field" ||
		fail "the manifest check failed for another reason: $out"
fi
# the hardening checks must be able to fail too: no seccomp profile, nodes/proxy granted
sed '/seccompProfile:/,/type: RuntimeDefault/d' packaging/kubernetes/stoker.yaml >"$tmp/noseccomp.yaml"
out=$(/usr/bin/python3 tests/packaging/validate_k8s.py "$tmp/noseccomp.yaml" 2>&1)
echo "$out" | grep -q "seccompProfile None, want RuntimeDefault" &&
	ok "the manifest check refuses a container without a seccomp profile" ||
	fail "a manifest without seccompProfile passed or failed otherwise: $out"
sed 's|resources: \["pods"\]|resources: ["pods", "nodes/proxy"]|' packaging/kubernetes/stoker.yaml \
	>"$tmp/proxy.yaml"
out=$(/usr/bin/python3 tests/packaging/validate_k8s.py "$tmp/proxy.yaml" 2>&1)
echo "$out" | grep -q "grants nodes/proxy" && ok "the manifest check refuses nodes/proxy" ||
	fail "a ClusterRole with nodes/proxy passed or failed otherwise: $out"
grep -q "hostPID: true" packaging/kubernetes/stoker.yaml && ok "DaemonSet uses hostPID" || fail "hostPID"
grep -q "privileged: false" packaging/kubernetes/stoker.yaml && ok "DaemonSet not privileged" || fail "privileged"

# Containerfile: the scripts its RUN lines call exist and are executable, with the
# argument it passes; the make targets exist; the .deb built above matches its COPY glob.
cf=packaging/container/Containerfile
scripts=$(grep -oE 'scripts/[A-Za-z0-9_.-]+' "$cf" | sort -u)
[ -n "$scripts" ] || fail "no scripts/ call found in $cf"
for f in $scripts; do
	[ -f "$f" ] && [ -x "$f" ] && ok "Containerfile runs $f, which is executable" ||
		fail "Containerfile runs $f: missing or not executable"
done
for set in $(sed -n 's|.*scripts/install-deps.sh \([a-z]*\).*|\1|p' "$cf"); do
	grep -qE "^[[:space:]]*$set\)" scripts/install-deps.sh &&
		ok "install-deps.sh knows the set '$set'" || fail "install-deps.sh has no set '$set'"
done
targets=$(sed -n 's|.*make \([a-z ]*\).*|\1|p' "$cf")
[ -n "$targets" ] && make -n $targets >/dev/null 2>&1 && ok "make targets exist: $targets" ||
	fail "make targets '$targets' from $cf"
glob=$(sed -n 's|^COPY --from=build /src/\([^ ]*\) .*|\1|p' "$cf")
case "$deb" in
$glob) [ -n "$glob" ] && ok "built $deb matches COPY $glob" || fail "no COPY --from=build" ;;
*) fail "built '$deb' does not match the Containerfile's COPY '$glob'" ;;
esac
grep -q "^FROM debian:12-slim" packaging/container/Containerfile && ok "slim base" || fail "base"

# README: the packages it says `make run` and `make test` install are install-deps.sh's sets
for set in build:run test:test; do
	said=$(awk -v item="- \`make ${set#*:}\`" '
		index($0, item) == 1 { on = 1 }
		on && (/^$/ || (/^- / && index($0, item) != 1)) { exit }
		on' README.md | sed 's/^[^:]*://' | grep -oE '`[a-z0-9.+-]+`' | tr -d '`' | sort | tr '\n' ' ')
	want=$(scripts/install-deps.sh --list "${set%%:*}" | sort | tr '\n' ' ')
	[ -n "$want" ] && [ "$said" = "$want" ] && ok "README lists the ${set%%:*} packages" ||
		fail "README's make ${set#*:} packages [$said] are not install-deps.sh's ${set%%:*} set [$want]"
done

rm -rf "$tmp"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
