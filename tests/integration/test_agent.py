#!/usr/bin/python3
"""End-to-end tests of build/stoker on real processes with real BPF sampling.

Each test starts fixture programs, runs the agent, and checks the profile it wrote with the
independent decoder in tests/tools/pprof_check.py. Needs root (or CAP_BPF + CAP_PERFMON): a
test that cannot load BPF fails, it never skips. Prints "N passed, N failed" last.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from cpu_watch import CpuWatch, ceiling, floor
from harness import (FIX, REPO, STOKER, CpuWatch, Failure, check, enough, load_profile, need,  # noqa: F401
                     pprof_check,
                     profile_fixture, profile_pid, run, run_agent, share_tolerance, start, stop)

TMP = tempfile.mkdtemp(prefix="stoker-it-")


def profile_watched(argv, out, seconds, settle=0.3, hz=99):
    """profile_fixture, watching the fixture's CPU time: returns (profile, fixture, samples
    its CPU time over the profile's span implies at hz)."""
    fx = start([os.path.join(FIX, argv[0])] + [str(a) for a in argv[1:]])
    watch = CpuWatch(fx.pid)
    try:
        time.sleep(settle)
        prof, _ = profile_pid(fx.pid, out, seconds, hz)
    finally:
        watch.stop()
        stop(fx)
    t0 = prof.pb.time_nanos
    return prof, fx, watch.cpu_seconds(t0, t0 + prof.pb.duration_nanos) * hz


def check_floor(got, want, what):
    """At least 85% of the samples the process's CPU time implies (less only by sampling
    noise at small counts, cpu_watch.floor), and not more than it implies with that noise
    (a sample counted twice would pass a floor)."""
    check(floor(want) <= got <= ceiling(want), "%s: %d samples, %.0f implied by its CPU "
          "time (accepted %.0f to %.0f)" % (what, got, want, floor(want),
                                                    ceiling(want)))


def test_known_shares_fp():
    """60/30/10 fixture built with frame pointers: shares within 5 points, full path."""
    # 299 Hz: about 1800 samples, so 5 points are 4 standard deviations of hot_a's share
    prof, fx, want = profile_watched(["shares", 30], os.path.join(TMP, "shares.pb.gz"), 6,
                                     hz=299)
    sh = pprof_check.shares(prof, funcs=["hot_a", "hot_b", "hot_c"], pid=fx.pid,
                            paths=["main,run,dispatch,hot_a", "main,run,dispatch,hot_b",
                                   "main,run,dispatch,hot_c"])
    total = sh["total"]
    print("    samples=%d inclusive=%s paths=%s" % (total, sh["inclusive"], sh["paths"]))
    check_floor(total, want, "the fixture in 6 s")
    for fn, want in (("hot_a", 0.60), ("hot_b", 0.30), ("hot_c", 0.10)):
        got = sh["inclusive"][fn]
        tol = share_tolerance(want, total)
        check(abs(got - want) <= tol, "%s share %.3f within %.3f of %.2f" % (fn, got, tol, want))
        path = sh["paths"]["main,run,dispatch," + fn]
        check(abs(path - want) <= tol,
              "path main>run>dispatch>%s share %.3f within %.3f of %.2f" % (fn, path, tol, want))
    labels = {k for s in pprof_check.stacks(prof) for k in s["labels"]}
    check({"pid", "comm", "service_name"} <= labels, "samples carry pid, comm, service_name")
    svc = {s["labels"].get("service_name") for s in pprof_check.stacks(prof)}
    check(svc == {"shares"}, "service_name is the executable's name (%s)" % svc)


def test_short_lived_process():
    """A process that exits long before the profile is written is still symbolized."""
    out = os.path.join(TMP, "short.pb.gz")
    agent = subprocess.Popen([STOKER, "--duration", "5s", "--sample-rate", "99",
                              "--output", out], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    sl = subprocess.Popen([os.path.join(FIX, "shortlived"), "0.7"])
    _, status, ru = os.wait4(sl.pid, 0)
    sl.returncode = os.waitstatus_to_exitcode(status)
    check(sl.returncode == 0, "short-lived fixture ran")
    _, err = agent.communicate(timeout=30)
    check(agent.returncode == 0, "agent exits 0 (%s)" % err.strip()[-300:])
    prof = load_profile(out, 99)
    sh = pprof_check.shares(prof, funcs=["burn_short", "main"], pid=sl.pid,
                            labels=["comm=shortlived"])
    print("    samples=%d inclusive=%s" % (sh["total"], sh["inclusive"]))
    # its whole life is inside the profile: its rusage is all the CPU it had to be sampled
    check_floor(sh["total"], (ru.ru_utime + ru.ru_stime) * 99, "the short-lived process")
    check(sh["inclusive"]["burn_short"] >= 0.9,
          "burn_short named in %.2f of its samples" % sh["inclusive"]["burn_short"])


def hidden_fixture_profile(mnt):
    """Runs the shares fixture from a tmpfs on mnt mounted in a new mount namespace, and
    profiles it; returns (its profile, its pid)."""
    os.makedirs(mnt)
    src = os.path.join(FIX, "shares")
    script = ("mount -t tmpfs tmpfs %s && cp %s %s/hidden_shares && exec %s/hidden_shares 20"
              % (mnt, src, mnt, mnt))
    fx = subprocess.Popen(["unshare", "-m", "--propagation", "unchanged", "sh", "-c", script],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    out = os.path.join(TMP, "ns.pb.gz")
    try:
        deadline, exe = time.time() + 5, ""
        while time.time() < deadline and fx.poll() is None:
            try:
                exe = os.readlink("/proc/%d/exe" % fx.pid)
                if exe.endswith("hidden_shares"):
                    break
            except OSError:
                pass
            time.sleep(0.05)
        check(exe.endswith("hidden_shares"), "the fixture runs in its own mount namespace (%s)"
              % (exe if fx.poll() is None else fx.stderr.read().decode().strip()))
        check(not os.path.exists(os.path.join(mnt, "hidden_shares")),
              "the binary is not visible from the agent's mount namespace")
        prof, _ = profile_pid(fx.pid, out, 3)
    finally:
        stop(fx)
    return prof, fx.pid


def test_other_mount_namespace():
    """A binary visible only inside another mount namespace is symbolized via /proc/PID/root."""
    need("unshare", "mount")
    # The fixture's tmpfs goes below a private mount of our own, so it cannot propagate back
    # to this namespace: `unshare --propagation private` would do it for all of /, but fails
    # where / is not a mount point (a chroot).
    base = os.path.join(TMP, "ns-base")
    os.makedirs(base, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", base], check=True)
    try:
        subprocess.run(["mount", "--make-private", base], check=True)
        prof, pid = hidden_fixture_profile(os.path.join(base, "mnt"))
    finally:
        subprocess.run(["umount", "-l", base])
    sh = pprof_check.shares(prof, funcs=["hot_a", "main"], pid=pid)
    print("    samples=%d inclusive=%s" % (sh["total"], sh["inclusive"]))
    # every sample its CPU time implies (the other lane of make test shares the cores)
    enough(sh["total"], prof, least=30)
    check(sh["inclusive"]["main"] >= 0.9, "its frames are named (main in %.2f)"
          % sh["inclusive"]["main"])


def test_kernel_frames():
    """Samples in the kernel carry named kernel frames below the user function."""
    prof, fx, want = profile_watched(["syscaller", 20], os.path.join(TMP, "kern.pb.gz"), 3,
                                     settle=0.2)
    stacks = pprof_check.stacks(prof)
    total = sum(s["count"] for s in stacks)
    check_floor(total, want, "the kernel-heavy fixture in 3 s")
    kern = sum(s["count"] for s in stacks
               if any(re.search(r"sys_read|ksys_read|vfs_read|read_zero|iov_iter_zero|clear_user",
                                f) for f in s["frames"])
               and "in_syscalls" in s["frames"])
    print("    samples=%d with named kernel read path under in_syscalls=%d" % (total, kern))
    check(kern >= 0.8 * total, "most samples show the kernel read path below in_syscalls")
    paths = pprof_check.shares(prof, funcs=[], paths=["main,in_syscalls"])["paths"]
    check(paths["main,in_syscalls"] >= 0.95, "user path main>in_syscalls intact")
    mappings = {m.filename and prof.pb.string_table[m.filename] for m in prof.pb.mapping}
    check("[kernel.kallsyms]" in mappings, "kernel frames have the [kernel.kallsyms] mapping")


def test_local_outputs_and_sigint():
    """SIGINT flushes; .folded, .html and .pb outputs are written and consistent."""
    fx = start([os.path.join(FIX, "shares"), "30"])
    folded = os.path.join(TMP, "o.folded")
    html = os.path.join(TMP, "o.html")
    raw = os.path.join(TMP, "o.pb")
    try:
        agent = subprocess.Popen([STOKER, "--pid", str(fx.pid), "--sample-rate", "99",
                                  "--output", folded, "--output", html, "--output", raw,
                                  "--top", "5"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        agent.send_signal(signal.SIGINT)
        out, err = agent.communicate(timeout=30)
    finally:
        stop(fx)
    check(agent.returncode == 0, "agent exits 0 on SIGINT (%s)" % err.strip()[-300:])
    check("hot_a" in out.splitlines()[1], "--top lists hot_a first:\n" + out)
    lines = open(folded).read().splitlines()
    check(len(lines) > 0, "folded output has lines")
    total = 0
    for ln in lines:
        m = re.match(r"^(.+) (\d+)$", ln)
        check(m is not None, "folded line parses: %r" % ln[:80]) if not m else None
        total += int(m.group(2))
        check(m.group(1).startswith("shares;"), "root frame is the process name") \
            if not m.group(1).startswith("shares;") else None
    prof = load_profile(raw, 99)
    ptotal = sum(s["count"] for s in pprof_check.stacks(prof))
    check(total == ptotal, "folded total %d equals pprof total %d" % (total, ptotal))
    page = open(html, encoding="utf-8").read()
    check("<html" in page.lower() and "hot_a" in page, "html flame graph names hot_a")
    check("http://" not in page and "https://" not in page, "html is self-contained")


def as_nobody(argv):
    """Runs argv as the unprivileged user nobody (util-linux setpriv)."""
    need("setpriv")
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
                          + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_output_planted_symlink():
    """--output into a world-writable directory: symlinks user nobody plants at the temporary
    name (PATH.tmp.<pid>, as the agent used to name it) and at the output name itself point at a
    root-only file; the agent writes its profile without writing through either."""
    shared = tempfile.mkdtemp(prefix="stoker-shared-")
    os.chmod(shared, 0o1777)
    victim = os.path.join(TMP, "victim")
    with open(victim, "w") as f:
        f.write("root only\n")
    os.chmod(victim, 0o600)
    out = os.path.join(shared, "p.pb.gz")
    fx = start([os.path.join(FIX, "shares"), "30"])
    watch = CpuWatch(fx.pid)
    try:
        agent = subprocess.Popen([STOKER, "--pid", str(fx.pid), "--duration", "3s",
                                  "--sample-rate", "99", "--output", out],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        tmp = "%s.tmp.%d" % (out, agent.pid)
        for link in (tmp, out):
            r = as_nobody(["ln", "-s", victim, link])
            check(r.returncode == 0, "nobody planted %s (%s)" % (link, r.stderr.strip()))
        _, err = agent.communicate(timeout=60)
    finally:
        watch.stop()
        stop(fx)
    check(agent.returncode == 0, "agent exits 0 (%s)" % err.strip()[-300:])
    with open(victim, "rb") as f:
        check(f.read() == b"root only\n", "the root-only file is untouched")
    check(os.path.islink(tmp), "the link at the old temporary name is left alone")
    check(not os.path.islink(out) and os.stat(out).st_uid == 0,
          "the output is the agent's own file, not the planted link")
    prof = load_profile(out, 99)
    sh = pprof_check.shares(prof, funcs=["hot_a"], pid=fx.pid)
    # complete: every sample the process's CPU time over the profile implies
    prof.implied = watch.cpu_seconds(prof.pb.time_nanos,
                                     prof.pb.time_nanos + prof.pb.duration_nanos) * 99
    enough(sh["total"], prof, least=30)
    shutil.rmtree(shared, ignore_errors=True)


def test_cli_errors():
    """Bad flags and values: one line naming the flag, exit code 2."""
    cases = [
        (["--sample-rate", "0", "--output", "x.pb.gz"], "sample-rate"),
        (["--sample-rate", "abc", "--output", "x.pb.gz"], "sample-rate"),
        (["--duration", "10x", "--output", "x.pb.gz"], "duration"),
        (["--pid", "-3", "--output", "x.pb.gz"], "pid"),
        (["--output", "x.doc"], "output"),
        (["--log-level", "loud", "--output", "x.pb.gz"], "log-level"),
        (["--bogus"], "--bogus"),
        (["--duration"], "--duration"),
        (["--label", "k8s.pod=x", "--output", "x.pb.gz"], "label"),
    ]
    for args, flag in cases:
        r = run_agent(args, timeout=10)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(lines) == 1 and flag in lines[0],
              "%s -> exit %d, %r" % (" ".join(args), r.returncode, r.stderr.strip()))
    r = run_agent(["--version"])
    check(r.returncode == 0 and r.stdout.startswith("stoker "), "--version prints the version")
    r = run_agent(["--help"])
    check(r.returncode == 0 and "--sample-rate" in r.stdout, "--help lists flags")


CAPS = "cap_bpf,cap_perfmon,cap_sys_ptrace,cap_dac_read_search,cap_syslog"


def capsh(caps, cmd):
    return subprocess.run(["capsh", "--caps=%s+eip cap_setpcap,cap_setuid,cap_setgid+ep" % caps,
                           "--keep=1", "--user=nobody", "--addamb=" + caps, "--", "-c", cmd],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)


def test_least_privilege():
    """As nobody with exactly the documented capabilities it profiles; without CAP_BPF it
    says so by name."""
    need("capsh")
    fx = start([os.path.join(FIX, "shares"), "30"])
    out = os.path.join(TMP, "caps.pb.gz")
    os.chmod(TMP, 0o777)
    try:
        time.sleep(0.3)
        r = capsh(CAPS, "grep CapEff /proc/self/status >&2; %s --pid %d --duration 3s "
                  "--sample-rate 99 --output %s" % (STOKER, fx.pid, out))
        check(r.returncode == 0, "runs as nobody with %s (%s)" % (CAPS, r.stderr[-300:]))
        prof = load_profile(out, 99)
        sh = pprof_check.shares(prof, funcs=["hot_a"], pid=fx.pid)
        check(abs(sh["inclusive"]["hot_a"] - 0.6) <= share_tolerance(0.6, sh["total"]),
              "and profiles correctly (hot_a %.3f of %d samples)" % (sh["inclusive"]["hot_a"],
                                                                 sh["total"]))
        fewer = CAPS.replace("cap_bpf,", "")
        r = capsh(fewer, "%s --pid %d --duration 1s --output %s" % (STOKER, fx.pid, out))
        check(r.returncode != 0 and "missing capability CAP_BPF" in r.stderr,
              "without CAP_BPF: a clear error naming it")
    finally:
        stop(fx)


def cgroup2_root():
    for line in open("/proc/mounts"):
        f = line.split()
        if f[2] == "cgroup2":
            return f[1]
    raise Failure("no cgroup2 mount found")


def test_cgroup_labels_and_relabel():
    """A process in a cgroup named like a containerd scope gets its container_id; relabel
    rules rename service_name and drop a process (filtered in BPF)."""
    cid = "3f4e1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7"
    cg = os.path.join(cgroup2_root(), "stoker-test.slice", "cri-containerd-%s.scope" % cid)
    os.makedirs(cg, exist_ok=True)
    cfg = os.path.join(TMP, "relabel.yaml")
    with open(cfg, "w") as f:
        f.write("relabel_configs:\n"
                "  - source_labels: [__meta_process_comm]\n"
                "    regex: shortlived\n"
                "    action: drop\n"
                "  - source_labels: [__meta_process_comm, container_id]\n"
                "    separator: '@'\n"
                "    regex: '(.*)@(.{12}).*'\n"
                "    target_label: service_name\n"
                "    replacement: '$1-$2'\n")
    fx = start([os.path.join(FIX, "shares"), "30"])
    out = os.path.join(TMP, "cg.pb.gz")
    try:
        with open(os.path.join(cg, "cgroup.procs"), "w") as f:
            f.write(str(fx.pid))
        agent = subprocess.Popen([STOKER, "--config", cfg, "--duration", "4s",
                                  "--sample-rate", "99", "--output", out],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        sl = subprocess.run([os.path.join(FIX, "shortlived"), "1.0"])
        _, err = agent.communicate(timeout=30)
        check(agent.returncode == 0 and sl.returncode == 0, "agent exits 0 (%s)" % err[-300:])
    finally:
        stop(fx)
        try:
            os.rmdir(cg)
            os.rmdir(os.path.dirname(cg))
        except OSError:
            pass
    prof = load_profile(out, 99)
    stacks = pprof_check.stacks(prof)
    mine = [s for s in stacks if s["labels"].get("pid") == str(fx.pid)]
    check(mine, "the fixture in the cgroup was sampled")
    check(all(s["labels"].get("container_id") == cid for s in mine),
          "container_id from the cgroup path on every sample")
    check(all(s["labels"].get("service_name") == "shares-" + cid[:12] for s in mine),
          "service_name rewritten by the rule: %s" % mine[0]["labels"].get("service_name"))
    check(not any(s["labels"].get("comm") == "shortlived" for s in stacks),
          "the process the rules drop has no samples")
    check(not any(k.startswith("__") for s in stacks for k in s["labels"]),
          "no __meta labels leak into the profile")
    r = run_agent(["--output", "x.pb.gz", "--relabel-rule", "action=replace\x1fsource_labels=a"])
    check(r.returncode == 2 and "invalid relabel rule 0" in r.stderr,
          "an invalid rule is rejected at start with its index: %s" % r.stderr.strip())


def test_kubernetes_and_docker_metadata():
    """Pods and containers named from a fake kubelet (bearer token) and a fake Docker socket;
    service_name from the pod annotation and from the compose service; an unreachable
    kubelet leaves the agent working."""
    app = "ab" * 32
    dock = "cd" * 32
    root = cgroup2_root()
    cgs = [os.path.join(root, "stoker-k8s.slice",
                        "cri-containerd-%s.scope" % app),
           os.path.join(root, "stoker-docker.slice", "docker-%s.scope" % dock)]
    for cg in cgs:
        os.makedirs(cg, exist_ok=True)
    tok = os.path.join(TMP, "k8s-token")
    with open(tok, "w") as f:
        f.write("s3cr3t-token\n")
    sock = os.path.join(TMP, "docker.sock")
    fake = subprocess.Popen(["/usr/bin/python3", os.path.join(REPO, "tests", "tools",
                                                              "fake_metadata.py"),
                             "--token", "s3cr3t-token", "--app-id", app, "--docker-id", dock,
                             "--docker-socket", sock], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    port = int(fake.stdout.readline().split()[-1])
    fx1 = start([os.path.join(FIX, "shares"), "30"])
    fx2 = start([os.path.join(FIX, "shares"), "30"])
    out = os.path.join(TMP, "meta.pb.gz")
    try:
        for cg, fx in zip(cgs, (fx1, fx2)):
            with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                f.write(str(fx.pid))
        r = run_agent(["--kubernetes", "--kubelet-url", "http://127.0.0.1:%d" % port,
                       "--kubernetes-token-file", tok, "--docker-socket", sock,
                       "--pid", str(fx1.pid), "--pid", str(fx2.pid), "--duration", "4s",
                       "--sample-rate", "99", "--output", out])
        check(r.returncode == 0, "agent exits 0 (%s)" % r.stderr[-300:])
        check("s3cr3t" not in r.stderr, "the token is never logged")
        r2 = run_agent(["--kubernetes", "--kubelet-url", "http://127.0.0.1:9",
                        "--kubernetes-token-file", tok, "--docker-socket", "",
                        "--pid", str(fx1.pid), "--duration", "2s", "--sample-rate", "99",
                        "--output", os.path.join(TMP, "nometa.pb.gz")])
        check(r2.returncode == 0 and r2.stderr.count("failed to reach the kubelet") == 1,
              "an unreachable kubelet is logged once and the agent carries on")
    finally:
        stop(fx1)
        stop(fx2)
        fake.stdin.close()
        hits = fake.stdout.read()
        fake.wait()
        for cg in cgs:
            try:
                os.rmdir(cg)
                os.rmdir(os.path.dirname(cg))
            except OSError:
                pass
    print("    kubelet requests:", hits.strip())
    stacks = pprof_check.stacks(load_profile(out, 99))
    k8s = [s["labels"] for s in stacks if s["labels"].get("pid") == str(fx1.pid)]
    dk = [s["labels"] for s in stacks if s["labels"].get("pid") == str(fx2.pid)]
    check(k8s and dk, "both containers sampled")
    want = {"pod": "checkout-7d9f8b6c5-x2x9q", "namespace": "shop", "container": "app",
            "node": "node-a", "service_name": "checkout-svc", "container_id": app}
    # the first samples may come before the kubelet's first answer: then they carry fewer
    # labels, and the labels are recomputed when the metadata arrives
    good = sum(all(l.get(k) == v for k, v in want.items()) for l in k8s)
    check(good >= 0.9 * len(k8s), "Kubernetes labels and the annotation's service_name on "
          "%d of %d stacks: %s" % (good, len(k8s), k8s[-1]))
    good = sum(l.get("container") == "shop-api-1" and l.get("service_name") == "api"
               and l.get("compose_service") == "api" for l in dk)
    check(good >= 0.9 * len(dk), "Docker container name and compose service on %d of %d "
          "stacks: %s" % (good, len(dk), dk[-1]))


def test_truncated_stacks_marked():
    """A stack deeper than the limit is cut at the root side and marked [truncated]."""
    prof, _, _ = profile_fixture(["deep", 10], os.path.join(TMP, "deep.pb.gz"), 2)
    stacks = pprof_check.stacks(prof)
    total = sum(s["count"] for s in stacks)
    # "[truncated: unwind tables loading]" marks the first samples, before tables loaded
    marked = sum(s["count"] for s in stacks if s["frames"][0].startswith("[truncated"))
    check(total >= 30 and marked >= 0.95 * total,
          "%d of %d samples start with [truncated]" % (marked, total))
    check(not any("[truncated]" in s["frames"][1:] for s in stacks), "only at the root")


def exec_maps(pid):
    """(start, end) -> (dev, inode) of pid's file-backed executable mappings."""
    out = {}
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) < 6 or "x" not in parts[1] or parts[4] == "0":
                continue
            start, end = (int(x, 16) for x in parts[0].split("-"))
            major, minor = (int(x, 16) for x in parts[3].split(":"))
            out[(start, end)] = (os.makedev(major, minor), int(parts[4]))
    return out


def test_each_file_opened_once():
    """Three processes of one binary, needed for symbols, unwind rows and the span symbol:
    each mapped file is opened once, maps read once per refresh (strace counts both)."""
    need("strace")
    fxs = [start([os.path.join(FIX, "shares-nofp"), "30"]) for _ in range(3)]
    log = os.path.join(TMP, "opens.strace")
    out = os.path.join(TMP, "opens.pb.gz")
    try:
        time.sleep(0.3)
        maps = {fx.pid: exec_maps(fx.pid) for fx in fxs}
        args = ["--duration", "4s", "--sample-rate", "99", "--output", out]
        for fx in fxs:
            args += ["--pid", str(fx.pid)]
        r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=open,openat,openat2",
                            "-e", "signal=none", "-o", log, STOKER] + args,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=90)
        check(r.returncode == 0, "agent exits 0 under strace (%s)" % r.stderr.strip()[-300:])
    finally:
        for fx in fxs:
            stop(fx)
    opened, maps_reads, others = {}, {}, []
    files = {i for m in maps.values() for i in m.values()}
    with open(log) as f:
        for line in f:
            m = re.search(r'= (-?\d+)', line.rsplit(")", 1)[-1]) if ")" in line else None
            if not m or int(m.group(1)) < 0:
                continue
            if '/map_files/' in line:
                g = re.search(r'"/proc/(\d+)/map_files/([0-9a-f]+)-([0-9a-f]+)"', line)
                ident = maps.get(int(g.group(1)), {}).get((int(g.group(2), 16),
                                                           int(g.group(3), 16)))
                check(ident is not None, "opened mapping is one of the fixtures' (%s)"
                      % line.strip()[:120])
                opened[ident] = opened.get(ident, 0) + 1
            elif "openat2(" in line:
                g = re.search(r'openat2\(\d+, "([^"]+)"', line)
                st = os.stat(g.group(1))
                ident = (st.st_dev, st.st_ino)
                if ident in files:
                    opened[ident] = opened.get(ident, 0) + 1
                else:  # a debug file found under the process's root: not a mapped file
                    others.append(g.group(1))
            else:
                g = re.search(r'"/proc/(\d+)/maps"', line)
                if g:
                    maps_reads[int(g.group(1))] = maps_reads.get(int(g.group(1)), 0) + 1
    print("    %d files mapped, opens per file %s, maps reads %s; other files opened: %s" %
          (len(files), sorted(opened.values()), maps_reads, others))
    check(len(opened) >= 2 and set(opened) <= files,
          "the binary and its libraries were opened (%d files)" % len(opened))
    check(all(n == 1 for n in opened.values()),
          "each mapped file opened once (%s)" % sorted(opened.values()))
    check(sorted(maps_reads) == sorted(maps), "each process's maps read (%s)" % maps_reads)
    # the process cache's refreshes are every read there is: none by another reader (the
    # symbolizer may refresh once more for an address outside every mapping, and counts it)
    report = re.search(r"objects: (\d+) files opened \((\d+) reopened\), (\d+) maps reads",
                       r.stderr)
    check(report and int(report.group(1)) == sum(opened.values()) and
          int(report.group(3)) == sum(maps_reads.values()),
          "the exit report counts the same opens and maps reads (%s)"
          % (report and report.group(0)))
    prof = load_profile(out, 99)
    sh = pprof_check.shares(prof, funcs=["hot_a", "main"])
    check(sh["total"] >= 50 and sh["inclusive"]["main"] >= 0.75,
          "the three processes are profiled with full stacks (%d samples, main in %.2f)"
          % (sh["total"], sh["inclusive"]["main"]))


TESTS = [test_cli_errors, test_truncated_stacks_marked, test_least_privilege, test_cgroup_labels_and_relabel,
         test_kubernetes_and_docker_metadata, test_known_shares_fp, test_short_lived_process,
         test_other_mount_namespace, test_kernel_frames, test_local_outputs_and_sigint,
         test_each_file_opened_once, test_output_planted_symlink]


def main():
    if os.geteuid() != 0:
        print("integration tests need root (CAP_BPF, CAP_PERFMON); failing loudly")
    rc = run("integration", TESTS, sys.argv[1:])
    shutil.rmtree(TMP, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
