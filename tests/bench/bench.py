#!/usr/bin/python3
"""stoker's benchmarks (`make bench`, `make bench-quick`): every figure beside a peer measured
in the same run, as median and spread of interleaved repetitions, printed as one table.

1. overhead at 19 and 99 Hz on a busy host (tests/fixtures/busy: processes x threads running
   known hot functions and counting iterations): profiler CPU s per wall s over the same
   window (the whole workload run, and the steady state after a warm-up), start-up CPU, peak
   and steady RSS, BPF map memory (fdinfo memlock), workload throughput vs no profiler at the
   same rate; peers `perf record -a -g` and bpftrace.
2. per-sample BPF cost from kernel.bpf_stats_enabled (run_time_ns / run_cnt).
3. accuracy: shares of hot_a/b/c against the truth (60/30/10), and the share of samples
   whose stack reaches main or a thread's start, for stoker and perf.
4. symbolization: addresses/s in libc, python3 and libLLVM, cold and warm, vs eu-addr2line
   cold and warm, and the share of addresses where both name the same function.
5. output: pprof encode time and size for 10,000 unique stacks, vs the same stacks as folded
   text (raw and gzipped).
6. start-up: launch to first sample, vs bpftrace.
7. trace spans: ns per span set/clear through the ABI vs pthread_setspecific, and BPF ns per
   sample with --span-labels on vs off, for a process with the ABI (tests/fixtures/spans)
   and one without (tests/fixtures/shares: one failed hash lookup per sample).
8. Go: lookups/s through Go's own table (name, file and line; the stripped build) vs the ELF
   symbol table (name; the same build not stripped). `--only go-pclntab` runs just this
   (`--only unwind` runs just the xz table-unwinding rows, `--only lines` the DWARF lines
   rows.)
9. Python: BPF ns per sample of Debian's python3.11 (interpreter frames walked) beside a
   native process.
10. lines: DWARF file:line and inline chains of random libc addresses (libc6-dbg's debug
   file) per second, cold (DWARF opened and indexed), warm (opened, addresses new) and
   cached, vs eu-addr2line -i -f on the same addresses; the agent's peak RSS profiling a
   process looping in libc's malloc (tests/fixtures/lines_hot malloc) with --lines vs
   --lines=false.
11. exec storm (`--only storm`; in the full run after the overhead runs): stoker and
   `perf record -a -g` system-wide at 99 Hz while the busy workload runs beside
   tests/fixtures/churn forking and exec'ing ~1,000 processes/s (issue #22's load): peak RSS
   (VmHWM until exit, mapped BPF maps included) and RSS at the end of the window, stoker's
   BPF map memory (its peak, read every 0.5 s), profiler CPU s/s over the window, the exec
   rate churn achieved beside each, and the share of stoker's samples taken before their
   process's unwind tables were registered (marked "[truncated: unwind tables loading]").
"""
import argparse
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))
import prom_metrics  # noqa: E402
import pprof_check  # noqa: E402
import workload_input  # noqa: E402

STOKER = os.path.join(REPO, "build", "stoker")
BUSY = os.path.join(REPO, "build", "fixtures", "busy")
CHURN = os.path.join(REPO, "build", "fixtures", "churn")
BENCH = os.path.join(REPO, "build", "bench")
TMP = tempfile.mkdtemp(prefix="stoker-bench-")
TRUTH = {"hot_a": 0.6, "hot_b": 0.3, "hot_c": 0.1}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs):
    xs = [x for x in xs if x is not None]
    return (min(xs), max(xs)) if xs else (None, None)


def proc_cpu(pid):
    """CPU time of a live process in seconds, summed over its threads from schedstat (ns; the
    clock-tick figures in /proc/PID/stat are too coarse for a 0.1%-of-a-core steady state), so
    CPU is read over the same window as the wall clock, not from start-up as wait4's would."""
    total, found = 0, False
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
                found = True
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9 if found else None


def proc_rss_mib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def bpf_map_mib(pid):
    """BPF map memory a process holds (fdinfo memlock of each map fd), mapped or not: since
    Linux 5.11 it is charged to the process's cgroup whether or not it shows in RSS."""
    total, seen = 0, set()
    try:
        fds = os.listdir("/proc/%d/fdinfo" % pid)
    except OSError:
        return None
    for fd in fds:
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                info = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if "map_id" in info and "memlock" in info:
            mid = info["map_id"].strip()
            if mid not in seen:
                seen.add(mid)
                total += int(info["memlock"])
    return total / (1 << 20)


def metrics(port):
    """The agent's /metrics as {name: value} (first sample of each name)."""
    out = {}
    for key, v in prom_metrics.scrape(port).items():
        out.setdefault(key.split("{")[0], v)
    return out


def bpf_stats(on):
    subprocess.run(["sysctl", "-q", "-w", "kernel.bpf_stats_enabled=%d" % int(on)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def prog_cost(kind):
    """ns per run of the profiler's perf_event program (one profiler runs at a time; this
    bpftool lists no owner pids, so stoker's is told apart by its name)."""
    try:
        progs = json.loads(subprocess.run(["bpftool", "-j", "prog", "show"],
                                          capture_output=True, text=True).stdout)
    except Exception:
        return None
    for p in progs:
        if p.get("type") != "perf_event" or not p.get("run_cnt"):
            continue
        if (p.get("name") == "on_cpu_sample") == (kind == "stoker"):
            return p["run_time_ns"] / p["run_cnt"]
    return None


def wait_for(path, text, p, timeout=30):
    """Waits until a profiler's log file shows `text` (a pipe read only until then would block
    the profiler once its later output filled the pipe's buffer)."""
    t0 = time.time()
    while time.time() - t0 < timeout and p.poll() is None:
        with open(path, errors="replace") as f:
            if text in f.read(1 << 16):
                return True
        time.sleep(0.05)
    return False


def start_logged(cmd, log, stream="stderr"):
    with open(log, "w") as f:
        if stream == "stderr":
            return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=f)
        return subprocess.Popen(cmd, stdout=f, stderr=subprocess.DEVNULL)


def start_profiler(kind, hz, out):
    """Starts a profiler and returns once it samples. Logs go to files: bpftrace prints its
    whole map at exit, and stoker logs as it runs."""
    if kind == "stoker":
        cmd = [STOKER, "--sample-rate", str(hz), "--output", out + ".pb.gz"]
    elif kind == "perf":
        cmd = ["perf", "record", "-a", "-g", "-F", str(hz), "-o", out + ".perf.data"]
    else:
        cmd = ["bpftrace", "-e", "profile:hz:%d { @[comm, kstack, ustack] = count(); }" % hz]
    if kind == "bpftrace":
        p = start_logged(cmd, out + ".log", "stdout")
        wait_for(out + ".log", "Attaching", p)
    elif kind == "stoker":
        p = start_logged(cmd, out + ".log")
        wait_for(out + ".log", "sampling", p)
    else:
        p = start_logged(cmd, out + ".log")
        time.sleep(1.5)
    return p


def proc_hwm_kib(pid):
    """VmHWM, the peak RSS of the process's own memory since its exec. Not wait4's ru_maxrss:
    exec records the replaced memory's peak there, and a child forked (or vforked) from this
    Python process starts with Python's, so every profiler's "peak" was this script's."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def wait_hwm(pid):
    """Waits for pid, reading its VmHWM until it exits: (rusage, peak RSS KiB or None)."""
    peak = None
    while True:
        done, _, ru = os.wait4(pid, os.WNOHANG)
        if done:
            return ru, peak
        peak = proc_hwm_kib(pid) or peak
        time.sleep(0.02)


def stop_profiler(p):
    p.send_signal(signal.SIGINT)
    try:
        ru, peak = wait_hwm(p.pid)
    except ChildProcessError:
        return None, None
    return ru.ru_utime + ru.ru_stime, peak


def perf_stacks(path):
    """(frames root..leaf, comm) per sample from perf script."""
    out = subprocess.run(["perf", "script", "-i", path, "-F", "comm,ip,sym"],
                         capture_output=True, text=True).stdout
    stacks, cur, comm = [], [], None
    for line in out.splitlines():
        if not line.strip():
            if comm is not None:
                stacks.append((comm, list(reversed(cur))))
            cur, comm = [], None
        elif comm is None:
            comm = line.split()[0]
        else:
            parts = line.split(None, 1)
            cur.append(parts[1].split("+")[0] if len(parts) > 1 else "?")
    if comm is not None:
        stacks.append((comm, list(reversed(cur))))
    return stacks


def shares_of(stacks):
    """stacks: list of (frames, count) of the busy workload."""
    total = sum(c for _, c in stacks) or 1
    sh = {f: sum(c for fr, c in stacks if f in fr) / total for f in TRUTH}
    err = max(abs(sh[f] - TRUTH[f]) for f in TRUTH)
    reach = sum(c for fr, c in stacks if any(x in fr for x in ("main", "start_thread",
                                                               "_start", "clone3"))) / total
    return err, reach, total


WARMUP = 3  # seconds after the workload starts before the steady-state window opens


def overhead(reps, secs, rates, results):
    """Each profiler is started and waited for until it samples; then the workload runs `secs`.
    CPU is read from /proc at three moments so that every CPU figure has the wall time of the
    same window: start-up (launch to ready), the whole workload run, and the steady state (the
    run after WARMUP s, once every process's tables are built)."""
    kinds = ["none", "stoker", "perf", "bpftrace"]
    for rep in range(reps):
        for hz in rates:
            order = kinds[rep % 4:] + kinds[:rep % 4]  # interleave: rotate the order
            for kind in order:
                out = os.path.join(TMP, "%s-%d-%d" % (kind, hz, rep))
                bpf_stats(True)
                p = start_profiler(kind, hz, out) if kind != "none" else None
                boot_cpu = proc_cpu(p.pid) if p else None
                t0 = time.time()
                cpu0 = boot_cpu
                busy = subprocess.Popen([BUSY, str(secs), "4", "2"], stdout=subprocess.PIPE,
                                        text=True)
                time.sleep(WARMUP)
                t1, cpu1 = time.time(), proc_cpu(p.pid) if p else None
                busy_out = busy.communicate()[0]
                t2, cpu2 = time.time(), proc_cpu(p.pid) if p else None
                rss_steady = proc_rss_mib(p.pid) if p else None
                maps = bpf_map_mib(p.pid) if p else None
                m = re.search(r"iterations (\d+)", busy_out)
                iters = int(m.group(1)) if m and busy.returncode == 0 else None
                cost = prog_cost(kind) if p and kind != "perf" else None
                _, peak = stop_profiler(p) if p else (None, None)
                bpf_stats(False)
                key = (kind, hz)
                r = results.setdefault(key, {k: [] for k in (
                    "iters", "cpu", "steady", "boot", "rss", "rss_steady", "maps", "bpf", "acc",
                    "reach")})
                r["iters"].append(iters)
                ok = None not in (cpu0, cpu2, cpu1)
                r["cpu"].append((cpu2 - cpu0) / (t2 - t0) if ok else None)
                r["steady"].append((cpu2 - cpu1) / (t2 - t1) if ok else None)
                r["boot"].append(boot_cpu)
                r["rss"].append(peak / 1024.0 if peak else None)
                r["rss_steady"].append(rss_steady)
                r["maps"].append(maps)
                r["bpf"].append(cost)
                if kind == "stoker" and hz == 99:
                    e = reach = None
                    if os.path.exists(out + ".pb.gz"):
                        prof = pprof_check.load(out + ".pb.gz")
                        st = [(s["frames"], s["count"]) for s in pprof_check.stacks(prof)
                              if s["labels"].get("comm") == "busy"]
                        e, reach, _ = shares_of(st)
                    r["acc"].append(e)
                    r["reach"].append(reach)
                if kind == "perf" and hz == 99:
                    st = [(fr, 1) for comm, fr in perf_stacks(out + ".perf.data") if comm == "busy"]
                    e, reach, _ = shares_of(st) if st else (None, None, None)
                    r["acc"].append(e)
                    r["reach"].append(reach)
                for ext in (".pb.gz", ".perf.data", ".log"):
                    if os.path.exists(out + ext):
                        os.unlink(out + ext)
                print("  %-9s %3d Hz rep %d: %s iterations, steady CPU %s s/s" % (
                    kind, hz, rep + 1, iters, fmt(r["steady"][-1])), file=sys.stderr)


PENDING_MARK = "[truncated: unwind tables loading]"  # agent/sample/collector.c


def pending_share(path):
    """Share of a stoker profile's samples (by count) whose stack carries the mark of a sample
    taken before its process's unwind tables were registered: such a stack was walked by frame
    pointers only and cut short, and an exec storm makes many processes that young."""
    if not os.path.exists(path):
        return None
    st = pprof_check.stacks(pprof_check.load(path))
    total = sum(s["count"] for s in st)
    return sum(s["count"] for s in st if PENDING_MARK in s["frames"]) / total if total else None


def churn_rate(out):
    """The exec rate churn achieved, from its last line "spawned N (R/s)": a profiler that
    slows fork and exec shows here, and the memory figures hold only at the rate reached."""
    m = re.search(r"spawned \d+ \(([\d.]+)/s\)", out or "")
    return float(m.group(1)) if m else None


def watch_maps(pid, proc):
    """Waits for proc, reading agent pid's BPF map memory every 0.5 s: the peak MiB. The unwind
    maps are allocated as tables load and freed as processes exit (BPF_F_NO_PREALLOC), so a
    figure read at the end of the window could miss the storm's peak."""
    seen = []
    while proc.poll() is None:
        seen.append(bpf_map_mib(pid) if pid else None)
        time.sleep(0.5)
    seen = [m for m in seen if m is not None]
    return max(seen) if seen else None


def storm_run(kind, secs, out):
    """One profiler system-wide at 99 Hz while busy and an exec storm run together, started
    once it samples (as in the overhead runs). CPU and the end-of-window RSS are read over the
    workload's window; the peak is VmHWM until exit, which counts the BPF maps the agent has
    mapped (ring buffer, mmapable arrays), so it is the figure issue #22 bounds."""
    p = start_profiler(kind, 99, out)
    t0, cpu0 = time.time(), proc_cpu(p.pid)
    busy = subprocess.Popen([BUSY, str(secs), "4", "2"], stdout=subprocess.DEVNULL)
    churn = subprocess.Popen([CHURN, str(secs), "1000"], stdout=subprocess.PIPE, text=True)
    maps = watch_maps(p.pid if kind == "stoker" else None, churn)
    churn_out = churn.communicate()[0]
    busy.wait()
    t1, cpu1 = time.time(), proc_cpu(p.pid)
    hwm = proc_hwm_kib(p.pid)  # the peak before exit: perf's exit pass can outgrow its run
    r = {"rss_end": proc_rss_mib(p.pid), "rate": churn_rate(churn_out),
         "rss_window": hwm / 1024.0 if hwm else None,
         "maps": maps,
         "cpu": (cpu1 - cpu0) / (t1 - t0) if None not in (cpu0, cpu1) else None}
    _, peak = stop_profiler(p)
    r["rss"] = peak / 1024.0 if peak else None
    r["pending"] = pending_share(out + ".pb.gz") if kind == "stoker" else None
    for ext in (".pb.gz", ".perf.data", ".log"):
        if os.path.exists(out + ext):
            os.unlink(out + ext)
    return r


def exec_storm(reps, secs, rows):
    """Issue #22's load, stoker beside perf record -a -g, in interleaved repetitions (the order
    rotates as in the overhead runs) so that a drift of the host falls on both."""
    kinds = ["stoker", "perf"]
    res = {k: {} for k in kinds}
    for rep in range(reps):
        for kind in kinds[rep % 2:] + kinds[:rep % 2]:
            r = storm_run(kind, secs, os.path.join(TMP, "storm-%s-%d" % (kind, rep)))
            for key, v in r.items():
                res[kind].setdefault(key, []).append(v)
            print("  storm %-6s rep %d: peak RSS %s MiB (%s until the window's end), end %s "
                  "MiB, maps %s MiB, CPU %s s/s, %s execs/s, before tables %s" % (
                      kind, rep + 1, fmt(r["rss"]), fmt(r["rss_window"]), fmt(r["rss_end"]),
                      fmt(r["maps"]), fmt(r["cpu"]), fmt(r["rate"]), fmt(r["pending"])),
                  file=sys.stderr)
    s, p = res["stoker"], res["perf"]
    for key, what in (("rss", "peak RSS MiB"), ("rss_end", "RSS MiB at the end"),
                      ("cpu", "profiler CPU s/s")):
        rows.append(("99 Hz + exec storm %s vs perf" % what, med(s[key]), med(p[key]),
                     spread(s[key]), "perf", runs(s[key])))
    rows.append(("99 Hz + exec storm BPF map memory MiB, peak", med(s["maps"]), None,
                 spread(s["maps"]), "-", runs(s["maps"])))
    rows.append(("99 Hz + exec storm share of samples before tables", med(s["pending"]), None,
                 spread(s["pending"]), "-", runs(s["pending"])))
    rows.append(("exec storm rate achieved (execs/s)", med(s["rate"]), med(p["rate"]),
                 spread(s["rate"]), "perf", runs(s["rate"])))


def unwind_cost(secs, rows):
    """Table unwinding on a stock Debian binary without frame pointers (xz): stoker --unwind
    auto vs --unwind fp (BPF ns/sample, agent CPU), and perf --call-graph dwarf, which copies
    8 KiB of stack per sample, on the same workload (profiler CPU, bytes per sample). CPU is
    read over the same window for both, after each profiler is ready; stoker's bytes/sample
    are the sample record bytes it read from the ring (its /metrics), perf's the perf.data
    size over its sample count."""
    inp = os.path.join(TMP, "xz-input")
    workload_input.write_library_bytes(inp, 64 << 20)
    res = {}
    port = 19400 + os.getpid() % 500
    for kind in ("auto", "fp", "perf-dwarf"):
        xz = subprocess.Popen(["xz", "-6", "-T1", "-c", inp], stdout=subprocess.DEVNULL)
        time.sleep(0.3)
        out = os.path.join(TMP, "unwind-" + kind)
        bpf_stats(True)
        if kind == "perf-dwarf":
            p = subprocess.Popen(["perf", "record", "-q", "-F", "99", "--call-graph", "dwarf",
                                  "-p", str(xz.pid), "-o", out + ".perf.data"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.5)
        else:
            p = start_logged([STOKER, "--pid", str(xz.pid), "--sample-rate", "99", "--unwind",
                              kind, "--metrics-addr", "127.0.0.1:%d" % port, "--output",
                              out + ".pb.gz"], out + ".log")
            wait_for(out + ".log", "sampling", p)
        t0, c0 = time.time(), proc_cpu(p.pid)
        time.sleep(secs)
        t1, c1 = time.time(), proc_cpu(p.pid)
        cost = prog_cost("stoker") if kind != "perf-dwarf" else None
        m = metrics(port) if kind == "auto" else {}
        stop_profiler(p)
        bpf_stats(False)
        xz.kill()
        xz.wait()
        size = os.path.getsize(out + ".perf.data") if kind == "perf-dwarf" else None
        n = None
        if kind == "auto" and m.get("stoker_samples_received_total"):
            res["record"] = (m.get("stoker_sample_record_bytes_total", 0) /
                             m["stoker_samples_received_total"])
        if kind == "perf-dwarf":
            n = len([1 for c, fr in perf_stacks(out + ".perf.data")])
        res[kind] = {"cpu": (c1 - c0) / (t1 - t0) if None not in (c0, c1) else None,
                     "bpf": cost, "bytes": size / n if size and n else None}
        print("  unwind %-10s: %s" % (kind, res[kind]), file=sys.stderr)
    rows.append(("xz (no FP) BPF ns/sample: tables vs frame pointers", res["auto"]["bpf"],
                 res["fp"]["bpf"], (None, None), "stoker --unwind fp"))
    rows.append(("xz (no FP) profiler CPU s/s: tables vs perf dwarf", res["auto"]["cpu"],
                 res["perf-dwarf"]["cpu"], (None, None), "perf --call-graph dwarf"))
    rows.append(("xz (no FP) bytes/sample: stoker ring record vs perf dwarf",
                 res.get("record"), res["perf-dwarf"]["bytes"], (None, None),
                 "perf --call-graph dwarf"))


def text_range(path):
    out = subprocess.run(["readelf", "-lW", path], capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD" and " R E " in line:
            return int(f[2], 16), int(f[2], 16) + int(f[5], 16)
    return None


def eu_names(path, af, passes):
    """Runs eu-addr2line over the address file `passes` times in one process; returns
    (seconds, names of the first pass). An inlined answer names the function it was inlined
    into, the function stoker's symbol table reports."""
    with open(af) as f:
        text = f.read()
    t0 = time.time()
    r = subprocess.run(["eu-addr2line", "-f", "-C", "-e", path], input=text * passes,
                       capture_output=True, text=True)
    dt = time.time() - t0
    lines = r.stdout.splitlines()
    names = []
    for i in range(0, min(len(lines), 2 * text.count("\n")), 2):
        n = lines[i]
        if " inlined at " in n:
            n = n.rsplit(" in ", 1)[1]
        names.append(n)
    return dt, names


def same_name(a, b):
    # Symbol versions (name@@GLIBC_2.34) are a spelling, not a different answer.
    return a.split("@")[0] == b.split("@")[0]


def symbolization(n_addrs, n_eu, rounds, rows):
    """Random addresses in each file's executable segment. stoker: cold loads the symbol table
    and answers once, warm answers again from the loaded table. eu-addr2line: cold is one
    pass in a fresh process, warm is a second pass in the same process (its time minus the
    first). Both sides' names are compared on the same addresses. eu-addr2line also looks up
    file and line (from libc6-dbg for libc), which stoker's symbol table does not."""
    libs = [("libc", "/usr/lib/x86_64-linux-gnu/libc.so.6"),
            ("python3", os.path.realpath("/usr/bin/python3")),
            ("libLLVM (C++)", max((os.path.join("/usr/lib/x86_64-linux-gnu", f)
                                   for f in os.listdir("/usr/lib/x86_64-linux-gnu")
                                   if f.startswith("libLLVM-") and ".so" in f),
                                  key=os.path.getsize, default=None))]
    for name, path in libs:
        if not path or not os.path.exists(path):
            continue
        lo, hi = text_range(path)
        rnd = random.Random(42)
        addrs = [rnd.randrange(lo, hi) for _ in range(n_addrs)]
        af, euf, nf = (os.path.join(TMP, x) for x in ("addrs.txt", "addrs-eu.txt", "names.txt"))
        with open(af, "w") as f:
            f.write("\n".join("%x" % a for a in addrs) + "\n")
        with open(euf, "w") as f:
            f.write("\n".join("%x" % a for a in addrs[:n_eu]) + "\n")
        cold, warm, eu_cold, eu_warm, agree = [], [], [], [], None
        for rep in range(3):
            t = subprocess.run([os.path.join(BENCH, "bench_symbolize"), "cold", path, af, "1",
                                nf], capture_output=True, text=True).stdout.split()
            cold.append(n_addrs / float(t[0]) if t else None)
            t = subprocess.run([os.path.join(BENCH, "bench_symbolize"), "warm", path, af,
                                str(rounds)], capture_output=True, text=True).stdout.split()
            warm.append(n_addrs * rounds / float(t[0]) if t else None)
            t1, eun = eu_names(path, euf, 1)
            t2, _ = eu_names(path, euf, 2)
            eu_cold.append(n_eu / t1 if eun else None)
            eu_warm.append(n_eu / (t2 - t1) if eun and t2 > t1 else None)
            if rep == 0 and eun and os.path.exists(nf):
                with open(nf) as f:
                    mine = f.read().splitlines()[:n_eu]
                both = [(a, b) for a, b in zip(mine, eun) if a != "??" and b != "??"]
                agree = (sum(same_name(a, b) for a, b in both) / len(both)) if both else None
        rows.append(("symbolize %s, cold (addr/s)" % name, med(cold), med(eu_cold),
                     spread(cold), "eu-addr2line cold", runs(cold)))
        rows.append(("symbolize %s, warm (addr/s)" % name, med(warm), med(eu_warm),
                     spread(warm), "eu-addr2line warm", runs(warm)))
        rows.append(("symbolize %s: same name as eu-addr2line (share)" % name, agree, None,
                     (None, None), "both resolved", "1/1" if agree is not None else "0/1"))


GO_BENCH_SRC = """package main

import (
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
)

func main() {
	xs := strings.Fields(strings.Repeat("b a c ", len(os.Args)))
	sort.Strings(xs)
	fmt.Println(xs, http.StatusOK)
}
"""


def go_pclntab_bench(n_addrs, rounds, rows):
    """Random addresses in the text of a Go binary (net/http linked in: about 6,000
    functions), looked up warm in the stripped build's pclntab and the unstripped build's
    symbol table; the text is the same in both."""
    src = os.path.join(TMP, "gobench")
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(src, "main.go"), "w") as f:
        f.write(GO_BENCH_SRC)
    with open(os.path.join(src, "go.mod"), "w") as f:
        f.write("module gobench\n\ngo 1.16\n")
    env = dict(os.environ, GOCACHE=os.path.join(src, "cache"), GOPATH=os.path.join(src, "path"),
               GOFLAGS="-mod=mod", GOPROXY="off", GO111MODULE="on", GOTOOLCHAIN="local",
               CGO_ENABLED="0", HOME=src)
    plain, stripped = os.path.join(src, "plain"), os.path.join(src, "stripped")
    for out, extra in ((plain, []), (stripped, ["-ldflags=-s -w"])):
        subprocess.run(["go", "build", "-o", out] + extra + ["."], cwd=src, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    lo, hi = text_range(plain)
    rnd = random.Random(42)
    af = os.path.join(TMP, "go-addrs.txt")
    with open(af, "w") as f:
        f.write("\n".join("%x" % rnd.randrange(lo, hi) for _ in range(n_addrs)) + "\n")
    go, sym = [], []
    for _ in range(3):
        for kind, path, acc in (("pclntab", stripped, go), ("symtab", plain, sym)):
            t = subprocess.run([os.path.join(BENCH, "bench_gopclntab"), kind, path, af,
                                str(rounds)], capture_output=True, text=True,
                               check=True).stdout.split()
            acc.append(n_addrs * rounds / float(t[0]) if t else None)
            print("  %s: %s resolved of %d, loaded in %s s" % (kind, t[1], n_addrs * rounds, t[2]),
                  file=sys.stderr)
    rows.append(("Go lookups/s: pclntab (+file:line) vs symtab", med(go), med(sym), spread(go),
                 "ELF symbol table", runs(go)))


def build_id_debug_file(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    bid = "".join(ln.split("Build ID:")[1].strip() for ln in out.splitlines()
                  if "Build ID:" in ln)
    return "/usr/lib/debug/.build-id/%s/%s.debug" % (bid[:2], bid[2:])


def agent_rss_kib(args, secs):
    """RSS of the agent profiling tests/fixtures/lines_hot in its malloc mode (its own DWARF,
    and libc's from libc6-dbg) for secs: (peak, as of the run's last second) in KiB. The
    peak is start-up's (BTF, BPF load) on either side; the last second is the steady state."""
    fx = subprocess.Popen([os.path.join(REPO, "build", "fixtures", "lines_hot"), "malloc"],
                          stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    p = subprocess.Popen([STOKER, "--sample-rate", "99", "--duration", "%ds" % secs, "--pid",
                          str(fx.pid), "--output", os.path.join(TMP, "rss.pb.gz")] + args,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0, last = time.time(), None
    while time.time() - t0 < secs - 0.5:
        time.sleep(0.25)
        last = proc_rss_mib(p.pid) or last
    _, peak = wait_hwm(p.pid)
    fx.kill()
    fx.wait()
    return peak or 0, (last or 0) * 1024


def eu_chains(path, af, passes):
    """eu-addr2line -i --pretty-print over the address file `passes` times in one process:
    (seconds, each address's chain of the first pass as bench_lines writes it)."""
    with open(af) as f:
        text = "".join("0x" + ln for ln in f)
    t0 = time.time()
    r = subprocess.run(["eu-addr2line", "-i", "-f", "-C", "--pretty-print", "-e", path],
                       input=text * passes, capture_output=True, text=True)
    dt = time.time() - t0
    chains = []
    for ln in r.stdout.splitlines():
        ln = re.sub(r"(:\d+):\d+$", r"\1", ln)  # no column on our side
        if ln.startswith(" (inlined by) "):
            chains[-1] += ln
        else:
            chains.append(ln)
    return dt, chains[:text.count("\n")]


def lines_bench(n_addrs, rounds, reps, secs, rows):
    libc = "/usr/lib/x86_64-linux-gnu/libc.so.6"
    debug = build_id_debug_file(libc)
    if not os.path.exists(debug):
        print("lines bench: %s missing (libc6-dbg)" % debug, file=sys.stderr)
        return
    lo, hi = text_range(libc)
    rnd = random.Random(42)
    af = os.path.join(TMP, "line-addrs.txt")
    with open(af, "w") as f:
        f.write("\n".join("%x" % rnd.randrange(lo, hi) for _ in range(n_addrs)) + "\n")
    # as the agent runs: sections copied to a scratch directory, libdw's parsed units within
    # the default --lines-memory (4 MiB), which random addresses all over libc keep
    # dropping and parsing again; and with room for all of them (64 MiB)
    scratch = os.path.join(TMP, "scratch")
    os.makedirs(scratch, mode=0o700, exist_ok=True)
    agent_env = dict(os.environ, SCRATCH_DIR=scratch)
    roomy_env = dict(agent_env, LINES_MEMORY=str(64 << 20))
    runs_of = (("cold", "cold", agent_env), ("warm", "warm", agent_env),
               ("cached", "cached", agent_env), ("cold64", "cold", roomy_env),
               ("warm64", "warm", roomy_env))
    res = {k: [] for k in ("cold", "warm", "cached", "cold64", "warm64", "eu_cold", "eu_warm")}
    chains = os.path.join(TMP, "line-chains.txt")
    agree = None
    for rep in range(reps):
        for key, mode, env in runs_of:
            args = [os.path.join(BENCH, "bench_lines"), mode, debug, af,
                    str(rounds if mode == "cached" else 1)]
            t = subprocess.run(args + ([chains] if rep == 0 and key == "cold" else []),
                               capture_output=True, text=True, env=env).stdout.split()
            res[key].append(n_addrs * (rounds if mode == "cached" else 1) / float(t[0])
                            if t else None)
        # eu-addr2line: one pass in a fresh process (cold), and the second of two passes in
        # one process (warm: its time minus one pass's)
        t1, eu = eu_chains(libc, af, 1)
        t2, _ = eu_chains(libc, af, 2)
        res["eu_cold"].append(n_addrs / t1 if eu else None)
        res["eu_warm"].append(n_addrs / (t2 - t1) if eu and t2 > t1 else None)
        if rep == 0 and eu and os.path.exists(chains):
            with open(chains) as f:
                mine = f.read().splitlines()
            both = [(a, b) for a, b in zip(mine, eu) if a != "??" and not b.startswith("??")]
            agree = sum(a == b for a, b in both) / len(both) if both else None
    for key, what, peer in (("cold", "cold", "eu_cold"), ("warm", "warm", "eu_warm"),
                            ("cached", "cached", "eu_warm"),
                            ("cold64", "cold, --lines-memory 64MiB", "eu_cold"),
                            ("warm64", "warm, --lines-memory 64MiB", "eu_warm")):
        rows.append(("lines libc, %s (addr/s)" % what, med(res[key]), med(res[peer]),
                     spread(res[key]), "eu-addr2line -i " + peer[3:], runs(res[key])))
    rows.append(("lines libc: same inline chain as eu-addr2line -i (share)", agree, None,
                 (None, None), "both resolved", "1/1" if agree is not None else "0/1"))
    rss = {"on": [], "off": [], "idle": []}
    for _ in range(reps):
        rss["on"].append(agent_rss_kib([], secs))
        rss["off"].append(agent_rss_kib(["--lines=false"], secs))
        # the DWARF released once the hot addresses are answered (--lines-idle)
        rss["idle"].append(agent_rss_kib(["--lines-idle", "2s"], secs))
    mib = {k: ([pk / 1024 for pk, _ in v], [st / 1024 for _, st in v]) for k, v in rss.items()}
    rows.append(("peak RSS MiB, libc malloc loop, --lines vs off", med(mib["on"][0]),
                 med(mib["off"][0]), spread(mib["on"][0]), "--lines=false"))
    rows.append(("RSS MiB at the end, libc malloc loop, --lines vs off", med(mib["on"][1]),
                 med(mib["off"][1]), spread(mib["on"][1]), "--lines=false"))
    rows.append(("RSS MiB at the end, --lines --lines-idle 2s vs off", med(mib["idle"][1]),
                 med(mib["off"][1]), spread(mib["idle"][1]), "--lines=false"))


def output_bench(rows):
    """pprof encode time, and its size beside the same stacks written as real folded text by
    the agent's own writer, raw and gzipped."""
    t = subprocess.run([os.path.join(BENCH, "bench_pprof"), "10000", "10"],
                       capture_output=True, text=True).stdout.split()
    if len(t) < 4:
        rows.append(("pprof encode+gzip, 10k stacks (ms)", None, None, (None, None), "", "0/1"))
        return
    rows.append(("pprof encode+gzip, 10k stacks (ms)", float(t[0]) * 1e3, None, (None, None), ""))
    rows.append(("pprof.gz bytes vs folded text, 10k stacks", int(t[1]), int(t[2]), (None, None),
                 "folded text"))
    rows.append(("pprof.gz bytes vs folded text gzipped, 10k stacks", int(t[1]), int(t[3]),
                 (None, None), "folded.gz"))


def startup(reps, rows):
    st, bt = [], []
    for _ in range(reps):
        t0 = time.time()
        p = subprocess.Popen([STOKER, "--log-level", "debug", "--sample-rate", "99", "--output",
                              os.path.join(TMP, "s.pb.gz")], stderr=subprocess.PIPE, text=True)
        busy = subprocess.Popen([BUSY, "3", "1", "1"], stdout=subprocess.DEVNULL)
        for line in p.stderr:
            if "first sample" in line:
                st.append(time.time() - t0)
                break
        p.send_signal(signal.SIGINT)
        p.communicate()
        t0 = time.time()
        b = subprocess.Popen(["bpftrace", "-e", 'profile:hz:99 { printf("first\\n"); exit(); }'],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in b.stdout:
            if "first" in line:
                bt.append(time.time() - t0)
                break
        b.wait()
        busy.wait()
    rows.append(("start-up to first sample (s)", med(st), med(bt), spread(st), "bpftrace",
                 "%d/%d" % (len(st), reps)))


def span_bench(reps, secs, rows):
    t = subprocess.run([os.path.join(BENCH, "bench_span")], capture_output=True,
                       text=True).stdout.split()
    rows.append(("span set via ABI (ns/call) vs pthread_setspecific", float(t[0]), float(t[2]),
                 (None, None), "pthread_setspecific"))
    rows.append(("span clear via ABI (ns/call) vs pthread_setspecific", float(t[1]),
                 float(t[2]), (None, None), "pthread_setspecific"))
    fixtures = {"abi": [os.path.join(REPO, "build", "fixtures", "spans"), str(secs + 5)],
                "no-abi": [os.path.join(REPO, "build", "fixtures", "shares"), str(secs + 5)]}
    cost = {}
    for rep in range(reps):
        for fx_name in ("abi", "no-abi"):
            for labels in (("on", "off") if rep % 2 == 0 else ("off", "on")):
                fx = subprocess.Popen(fixtures[fx_name], stdout=subprocess.DEVNULL)
                time.sleep(0.3)
                bpf_stats(True)
                p = subprocess.Popen([STOKER, "--pid", str(fx.pid), "--sample-rate", "99",
                                      "--span-labels=" + ("true" if labels == "on" else "false"),
                                      "--duration", "%ds" % secs, "--output",
                                      os.path.join(TMP, "span.pb.gz")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(secs - 0.5)
                c = prog_cost("stoker")
                p.wait()
                bpf_stats(False)
                fx.kill()
                fx.wait()
                cost.setdefault((fx_name, labels), []).append(c)
                print("  spans %-6s labels %-3s rep %d: %s ns/sample" % (fx_name, labels, rep + 1,
                                                                         fmt(c)), file=sys.stderr)
    for fx_name, what in (("abi", "process with the span ABI"),
                          ("no-abi", "process without it")):
        on, off = cost[(fx_name, "on")], cost[(fx_name, "off")]
        rows.append(("BPF ns/sample, %s, spans on vs off" % what, med(on), med(off), spread(on),
                     "--span-labels=false", runs(on)))


def runs(xs):
    """How many repetitions gave a figure, of how many ran: a failed one is shown, not hidden
    by the median."""
    return "%d/%d" % (len([x for x in xs if x is not None]), len(xs))


def own_sampler_cost(pid):
    """(run_time_ns, run_cnt) of the on_cpu_sample program agent pid holds, from its fds'
    fdinfo: other agents on the host load programs of the same name."""
    try:
        progs = json.loads(subprocess.run(["bpftool", "-j", "prog", "show"],
                                          capture_output=True, text=True).stdout)
    except Exception:
        return None
    names = {p["id"]: p.get("name") for p in progs}
    d = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(d):
        try:
            with open(os.path.join(d, fd)) as f:
                info = dict(ln.split(":", 1) for ln in f.read().splitlines() if ":" in ln)
        except OSError:
            continue
        pid_ = int(info.get("prog_id", "0").strip() or 0)
        if pid_ and names.get(pid_) == "on_cpu_sample":
            return int(info["run_time_ns"]), int(info["run_cnt"])
    return None


def python_bench(secs, rows):
    """BPF ns per recorded sample for Debian's python3.11 (interpreter frames walked and sent on
    top of the table-unwound native stack) beside a native process without frame pointers
    (tests/fixtures/shares-nofp), each profiled alone with --pid. The program also runs, and
    returns at once, for the other processes' samples: their cost is in both figures."""
    res = {}
    for kind, cmd in (("python", ["/usr/bin/python3",
                                  os.path.join(REPO, "tests", "fixtures", "py_shares.py"), "60"]),
                      ("native", [os.path.join(REPO, "build", "fixtures", "shares-nofp"), "60"])):
        fx = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        bpf_stats(True)
        p = subprocess.Popen([STOKER, "--pid", str(fx.pid), "--sample-rate", "99", "--output",
                              os.path.join(TMP, "py-%s.pb.gz" % kind)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(secs)
        cost = own_sampler_cost(p.pid)
        p.send_signal(signal.SIGINT)
        err = p.communicate(timeout=60)[1]
        bpf_stats(False)
        fx.kill()
        fx.wait()
        m = re.search(r"samples: (\d+) recorded", err)
        res[kind] = cost[0] / int(m.group(1)) if cost and m and int(m.group(1)) else None
        print("  python bench %-6s: %s ns per recorded sample (%s ns over %s runs)" %
              (kind, res[kind], cost and cost[0], cost and cost[1]), file=sys.stderr)
    rows.append(("python3.11 BPF ns/sample vs a native process", res["python"], res["native"],
                 (None, None), "shares-nofp (no FP)"))


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return "%.4g" % v
    return str(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["go-pclntab", "unwind", "lines", "storm"])
    a = ap.parse_args()
    storm_reps, storm_secs = (1, 10) if a.quick else (3, 20)
    if a.only:
        rows = []
        if a.only == "storm" and os.geteuid() != 0:
            print("bench needs root (BPF, perf -a)", file=sys.stderr)
            return 1
        if a.only == "storm":
            exec_storm(storm_reps, storm_secs, rows)
        elif a.only == "go-pclntab":
            go_pclntab_bench(2000 if a.quick else 20000, 5 if a.quick else 20, rows)
        elif a.only == "lines":
            lines_bench(2000 if a.quick else 20000, 5 if a.quick else 20, 1 if a.quick else 3,
                        8 if a.quick else 10, rows)
        else:
            unwind_cost(5 if a.quick else 15, rows)
        print_rows(rows, a.quick)
        return 0
    reps, secs, rates = (1, 5, [99]) if a.quick else (3, 10, [19, 99])
    if os.geteuid() != 0:
        print("bench needs root (BPF, perf -a)", file=sys.stderr)
        return 1
    results, rows = {}, []
    print("overhead runs (%d x %d s at %s Hz, interleaved):" % (reps, secs, rates), file=sys.stderr)
    overhead(reps, secs, rates, results)
    for hz in rates:
        s = results[("stoker", hz)]
        base = med(results[("none", hz)]["iters"])  # the no-profiler runs at this rate's turn
        for peer in ("perf", "bpftrace"):
            p = results[(peer, hz)]
            for key, what in (("cpu", "profiler CPU s/s, whole run"),
                              ("steady", "profiler CPU s/s, steady state"),
                              ("rss", "peak RSS MiB"),
                              ("rss_steady", "RSS MiB, steady state")):
                rows.append(("%d Hz %s vs %s" % (hz, what, peer), med(s[key]), med(p[key]),
                             spread(s[key]), peer, runs(s[key])))
            tp = [x / base if x and base else None for x in s["iters"]]
            rows.append(("%d Hz workload throughput vs %s" % (hz, peer), med(tp),
                         med([x / base if x and base else None for x in p["iters"]]),
                         spread(tp), peer, runs(tp)))
        b = results[("bpftrace", hz)]
        rows.append(("%d Hz BPF map memory MiB vs bpftrace" % hz, med(s["maps"]), med(b["maps"]),
                     spread(s["maps"]), "bpftrace", runs(s["maps"])))
        rows.append(("%d Hz start-up CPU s vs bpftrace" % hz, med(s["boot"]), med(b["boot"]),
                     spread(s["boot"]), "bpftrace", runs(s["boot"])))
        rows.append(("%d Hz BPF ns/sample (frame pointers) vs bpftrace" % hz, med(s["bpf"]),
                     med(b["bpf"]), spread(s["bpf"]), "bpftrace", runs(s["bpf"])))
    s, p = results[("stoker", 99)], results[("perf", 99)]
    rows.append(("accuracy: max share error vs truth 60/30/10", med(s["acc"]), med(p["acc"]),
                 spread(s["acc"]), "perf", runs(s["acc"])))
    rows.append(("share of stacks reaching main/thread start", med(s["reach"]), med(p["reach"]),
                 spread(s["reach"]), "perf", runs(s["reach"])))
    print("exec storm runs (%d x %d s at 99 Hz, interleaved):" % (storm_reps, storm_secs),
          file=sys.stderr)
    exec_storm(storm_reps, storm_secs, rows)
    unwind_cost(5 if a.quick else 15, rows)
    symbolization(2000 if a.quick else 20000, 1000 if a.quick else 4000, 5 if a.quick else 20,
                  rows)
    lines_bench(2000 if a.quick else 20000, 5 if a.quick else 20, 1 if a.quick else 3,
                8 if a.quick else 10, rows)
    output_bench(rows)
    startup(1 if a.quick else 3, rows)
    span_bench(1 if a.quick else 3, 5 if a.quick else 10, rows)
    go_pclntab_bench(2000 if a.quick else 20000, 5 if a.quick else 20, rows)
    python_bench(5 if a.quick else 10, rows)
    print_rows(rows, a.quick)
    return 0


def print_rows(rows, quick):
    print()
    print("| %-58s | %12s | %12s | %8s | %-22s | %-4s | %s |" % (
        "metric", "stoker", "peer", "ratio", "stoker spread", "runs", "peer"))
    print("|%s|%s|%s|%s|%s|%s|%s|" % ("-" * 60, "-" * 14, "-" * 14, "-" * 10, "-" * 24, "-" * 6,
                                      "-" * 20))
    failed = 0
    for row in rows:
        name, mine, peer, sp, peer_name = row[:5]
        nruns = row[5] if len(row) > 5 else ("1/1" if mine is not None else "0/1")
        ok, total = (int(x) for x in nruns.split("/"))
        failed += total - ok
        ratio = mine / peer if mine is not None and peer else None
        print("| %-58s | %12s | %12s | %8s | %-22s | %-4s | %s |" % (
            name, fmt(mine), fmt(peer), fmt(ratio),
            "%s - %s" % (fmt(sp[0]), fmt(sp[1])) if sp[0] is not None else "-", nruns,
            peer_name))
    if failed:
        print("\n%d repetitions gave no figure (see `runs`)" % failed)
    print("\ncommand: make %s  (%s, %d cores)" % ("bench-quick" if quick else "bench",
                                                 time.strftime("%Y-%m-%d"), os.cpu_count()))


if __name__ == "__main__":
    sys.exit(main())
