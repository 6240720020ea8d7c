#!/usr/bin/python3
"""stoker's benchmarks (`make bench`, `make bench-quick`): every figure beside a peer measured
in the same run, as median and spread of interleaved repetitions, printed as one table.

1. overhead at 19 and 99 Hz on a busy host (tests/fixtures/busy: processes x threads running
   known hot functions and counting iterations): profiler CPU s per wall s, peak RSS,
   workload throughput vs no profiler; peers `perf record -a -g` and bpftrace.
2. per-sample BPF cost from kernel.bpf_stats_enabled (run_time_ns / run_cnt).
3. accuracy: shares of hot_a/b/c against the truth (60/30/10), and the share of samples
   whose stack reaches main or a thread's start, for stoker and perf.
4. symbolization: addresses/s in libc, python3 and libLLVM, cold and warm, vs eu-addr2line.
5. output: pprof encode time and size for 10,000 unique stacks.
6. start-up: launch to first sample, vs bpftrace.
7. trace spans: ns per span set/clear through the ABI vs pthread_setspecific, and BPF ns per
   sample with --span-labels on vs off, for a process with the ABI (tests/fixtures/spans)
   and one without (tests/fixtures/shares: one failed hash lookup per sample).
8. lines: DWARF file:line and inline chains of random libc addresses (libc6-dbg's debug
   file) per second, cold (DWARF opened and indexed), warm (opened, addresses new) and
   cached, vs eu-addr2line -i -f on the same addresses; the agent's peak RSS profiling a
   process looping in libc's malloc (tests/fixtures/lines_hot malloc) with --lines vs
   --lines=false.
"""
import argparse
import json
import os
import random
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))
import pprof_check  # noqa: E402
import workload_input  # noqa: E402

STOKER = os.path.join(REPO, "build", "stoker")
BUSY = os.path.join(REPO, "build", "fixtures", "busy")
BENCH = os.path.join(REPO, "build", "bench")
TMP = tempfile.mkdtemp(prefix="stoker-bench-")
TRUTH = {"hot_a": 0.6, "hot_b": 0.3, "hot_c": 0.1}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs):
    xs = [x for x in xs if x is not None]
    return (min(xs), max(xs)) if xs else (None, None)


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


def start_profiler(kind, hz, out):
    if kind == "stoker":
        cmd = [STOKER, "--sample-rate", str(hz), "--output", out + ".pb.gz"]
        ready = "sampling"
    elif kind == "perf":
        cmd = ["perf", "record", "-a", "-g", "-F", str(hz), "-o", out + ".perf.data"]
        ready = None
    else:
        cmd = ["bpftrace", "-e", "profile:hz:%d { @[comm, kstack, ustack] = count(); }" % hz]
        ready = "Attaching"
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE if kind == "bpftrace" else subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    if ready:
        stream = p.stdout if kind == "bpftrace" else p.stderr
        while time.time() - t0 < 30:
            line = stream.readline()
            if not line or ready in line:
                break
    else:
        time.sleep(1.5)
    return p


def stop_profiler(p):
    p.send_signal(signal.SIGINT)
    try:
        _, status, ru = os.wait4(p.pid, 0)
    except ChildProcessError:
        return None, None
    return ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def run_busy(secs):
    r = subprocess.run([BUSY, str(secs), "4", "2"], capture_output=True, text=True)
    m = re.search(r"iterations (\d+)", r.stdout)
    return int(m.group(1)) if m else None


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


def overhead(reps, secs, rates, results):
    kinds = ["none", "stoker", "perf", "bpftrace"]
    for rep in range(reps):
        for hz in rates:
            order = kinds[rep % 4:] + kinds[:rep % 4]  # interleave: rotate the order
            for kind in order:
                out = os.path.join(TMP, "%s-%d-%d" % (kind, hz, rep))
                bpf_stats(True)
                p = start_profiler(kind, hz, out) if kind != "none" else None
                t0 = time.time()
                iters = run_busy(secs)
                cost = prog_cost(kind) if p and kind != "perf" else None
                cpu, rss = stop_profiler(p) if p else (None, None)
                wall = time.time() - t0
                bpf_stats(False)
                key = (kind, hz)
                r = results.setdefault(key, {"iters": [], "cpu": [], "rss": [], "bpf": [],
                                             "acc": [], "reach": []})
                r["iters"].append(iters)
                if cpu is not None:
                    r["cpu"].append(cpu / wall)
                    r["rss"].append(rss / 1024.0)
                r["bpf"].append(cost)
                if kind == "stoker" and hz == 99:
                    prof = pprof_check.load(out + ".pb.gz")
                    st = [(s["frames"], s["count"]) for s in pprof_check.stacks(prof)
                          if s["labels"].get("comm") == "busy"]
                    e, reach, _ = shares_of(st)
                    r["acc"].append(e)
                    r["reach"].append(reach)
                if kind == "perf" and hz == 99:
                    st = [(fr, 1) for comm, fr in perf_stacks(out + ".perf.data") if comm == "busy"]
                    e, reach, _ = shares_of(st)
                    r["acc"].append(e)
                    r["reach"].append(reach)
                for ext in (".pb.gz", ".perf.data"):
                    if os.path.exists(out + ext):
                        os.unlink(out + ext)
                print("  %-9s %3d Hz rep %d: %s iterations" % (kind, hz, rep + 1, iters),
                      file=sys.stderr)


def unwind_cost(secs, rows):
    """Table unwinding on a stock Debian binary without frame pointers (xz): stoker --unwind
    auto vs --unwind fp (BPF ns/sample, agent CPU), and perf --call-graph dwarf, which copies
    8 KiB of stack per sample, on the same workload (profiler CPU, bytes per sample)."""
    inp = os.path.join(TMP, "xz-input")
    workload_input.write_library_bytes(inp, 64 << 20)
    res = {}
    for kind in ("auto", "fp", "perf-dwarf"):
        xz = subprocess.Popen(["xz", "-6", "-T1", "-c", inp], stdout=subprocess.DEVNULL)
        time.sleep(0.3)
        out = os.path.join(TMP, "unwind-" + kind)
        bpf_stats(True)
        if kind == "perf-dwarf":
            p = subprocess.Popen(["perf", "record", "-q", "-F", "99", "--call-graph", "dwarf",
                                  "-p", str(xz.pid), "-o", out + ".perf.data"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            p = subprocess.Popen([STOKER, "--pid", str(xz.pid), "--sample-rate", "99",
                                  "--unwind", kind, "--output", out + ".pb.gz"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(secs)
        cost = prog_cost("stoker") if kind != "perf-dwarf" else None
        cpu, _ = stop_profiler(p)
        bpf_stats(False)
        xz.kill()
        xz.wait()
        size = os.path.getsize(out + ".perf.data") if kind == "perf-dwarf" else None
        n = None
        if kind == "auto":
            st = pprof_check.stacks(pprof_check.load(out + ".pb.gz"))
            tot = sum(x["count"] for x in st) or 1
            # the ring-buffer record: 80-byte header and 8 bytes per frame
            res["record"] = 80 + 8 * sum(len(x["frames"]) * x["count"] for x in st) / tot
        if kind == "perf-dwarf":
            n = len([1 for c, fr in perf_stacks(out + ".perf.data")])
        res[kind] = {"cpu": cpu / secs if cpu is not None else None, "bpf": cost,
                     "bytes": size / n if size and n else None}
        print("  unwind %-10s: %s" % (kind, res[kind]), file=sys.stderr)
    rows.append(("xz (no FP) BPF ns/sample: tables vs frame pointers", res["auto"]["bpf"],
                 res["fp"]["bpf"], (None, None), "stoker --unwind fp"))
    rows.append(("xz (no FP) profiler CPU s/s: tables vs perf dwarf", res["auto"]["cpu"],
                 res["perf-dwarf"]["cpu"], (None, None), "perf --call-graph dwarf"))
    rows.append(("xz (no FP) bytes/sample: stoker record vs perf dwarf",
                 res.get("record"), res["perf-dwarf"]["bytes"], (None, None),
                 "perf --call-graph dwarf"))


def text_range(path):
    out = subprocess.run(["readelf", "-lW", path], capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD" and " R E " in line:
            return int(f[2], 16), int(f[2], 16) + int(f[5], 16)
    return None


def symbolization(n_addrs, rounds, rows):
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
        af = os.path.join(TMP, "addrs.txt")
        with open(af, "w") as f:
            f.write("\n".join("%x" % a for a in addrs) + "\n")
        cold, warm, eu = [], [], []
        for _ in range(3):
            t = subprocess.run([os.path.join(BENCH, "bench_symbolize"), "cold", path, af, "1"],
                               capture_output=True, text=True).stdout.split()
            cold.append(n_addrs / float(t[0]))
            t = subprocess.run([os.path.join(BENCH, "bench_symbolize"), "warm", path, af,
                                str(rounds)], capture_output=True, text=True).stdout.split()
            warm.append(n_addrs * rounds / float(t[0]))
            t0 = time.time()
            subprocess.run(["eu-addr2line", "-f", "-e", path], stdin=open(af),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            eu.append(n_addrs / (time.time() - t0))
        rows.append(("symbolize %s, cold (addr/s)" % name, med(cold), med(eu), spread(cold),
                     "eu-addr2line"))
        rows.append(("symbolize %s, warm (addr/s)" % name, med(warm), med(eu), spread(warm),
                     "eu-addr2line"))


def build_id_debug_file(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    bid = "".join(ln.split("Build ID:")[1].strip() for ln in out.splitlines()
                  if "Build ID:" in ln)
    return "/usr/lib/debug/.build-id/%s/%s.debug" % (bid[:2], bid[2:])


def agent_rss_kib(args, secs):
    """Peak RSS of the agent profiling tests/fixtures/lines_hot in its malloc mode (its own
    DWARF, and libc's from libc6-dbg) for secs."""
    fx = subprocess.Popen([os.path.join(REPO, "build", "fixtures", "lines_hot"), "malloc"],
                          stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    p = subprocess.Popen([STOKER, "--sample-rate", "99", "--duration", "%ds" % secs, "--pid",
                          str(fx.pid), "--output", os.path.join(TMP, "rss.pb.gz")] + args,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, ru = os.wait4(p.pid, 0)
    fx.kill()
    fx.wait()
    return ru.ru_maxrss


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
    res = {"cold": [], "warm": [], "cached": [], "eu": []}
    for _ in range(reps):
        for mode in ("cold", "warm", "cached"):
            t = subprocess.run([os.path.join(BENCH, "bench_lines"), mode, debug, af,
                                str(rounds if mode == "cached" else 1)],
                               capture_output=True, text=True).stdout.split()
            res[mode].append(n_addrs * (rounds if mode == "cached" else 1) /
                             max(float(t[0]), 1e-9))
        t0 = time.time()
        with open(af) as f:
            subprocess.run(["eu-addr2line", "-i", "-f", "-e", libc],
                           input="".join("0x" + ln for ln in f), text=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        res["eu"].append(n_addrs / (time.time() - t0))
    for mode in ("cold", "warm", "cached"):
        rows.append(("lines libc, %s (addr/s)" % mode, med(res[mode]), med(res["eu"]),
                     spread(res[mode]), "eu-addr2line -i"))
    on, off = [], []
    for _ in range(reps):
        on.append(agent_rss_kib([], secs) / 1024)
        off.append(agent_rss_kib(["--lines=false"], secs) / 1024)
    rows.append(("peak RSS MiB, libc malloc loop, --lines vs off", med(on), med(off),
                 spread(on), "--lines=false"))


def output_bench(rows):
    t = subprocess.run([os.path.join(BENCH, "bench_pprof"), "10000", "10"],
                       capture_output=True, text=True).stdout.split()
    rows.append(("pprof encode+gzip, 10k stacks (ms)", float(t[0]) * 1e3, None, (None, None), ""))
    rows.append(("pprof.gz bytes vs folded text, 10k stacks", int(t[1]), int(t[2]), (None, None),
                 "folded text"))


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
    rows.append(("start-up to first sample (s)", med(st), med(bt), spread(st), "bpftrace"))


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
                     "--span-labels=false"))


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return "%.4g" % v
    return str(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    reps, secs, rates = (1, 5, [99]) if a.quick else (3, 10, [19, 99])
    if os.geteuid() != 0:
        print("bench needs root (BPF, perf -a)", file=sys.stderr)
        return 1
    results, rows = {}, []
    print("overhead runs (%d x %d s at %s Hz, interleaved):" % (reps, secs, rates), file=sys.stderr)
    overhead(reps, secs, rates, results)
    base = med(results[("none", rates[0])]["iters"])
    for hz in rates:
        s = results[("stoker", hz)]
        for peer in ("perf", "bpftrace"):
            p = results[(peer, hz)]
            rows.append(("%d Hz profiler CPU s/s vs %s" % (hz, peer), med(s["cpu"]), med(p["cpu"]),
                         spread(s["cpu"]), peer))
            rows.append(("%d Hz peak RSS MiB vs %s" % (hz, peer), med(s["rss"]), med(p["rss"]),
                         spread(s["rss"]), peer))
            rows.append(("%d Hz workload throughput vs %s" % (hz, peer),
                         med(s["iters"]) / base, med(p["iters"]) / base,
                         spread([x / base for x in s["iters"] if x]), peer))
        rows.append(("%d Hz BPF ns/sample (frame pointers) vs bpftrace" % hz, med(s["bpf"]),
                     med(results[("bpftrace", hz)]["bpf"]), spread(s["bpf"]), "bpftrace"))
    s, p = results[("stoker", 99)], results[("perf", 99)]
    rows.append(("accuracy: max share error vs truth 60/30/10", med(s["acc"]), med(p["acc"]),
                 spread(s["acc"]), "perf"))
    rows.append(("share of stacks reaching main/thread start", med(s["reach"]), med(p["reach"]),
                 spread(s["reach"]), "perf"))
    unwind_cost(5 if a.quick else 15, rows)
    symbolization(2000 if a.quick else 20000, 5 if a.quick else 20, rows)
    lines_bench(2000 if a.quick else 20000, 5 if a.quick else 20, 1 if a.quick else 3,
                5 if a.quick else 10, rows)
    output_bench(rows)
    startup(1 if a.quick else 3, rows)
    span_bench(1 if a.quick else 3, 5 if a.quick else 10, rows)

    print()
    print("| %-52s | %12s | %12s | %8s | %-22s | %s |" % ("metric", "stoker", "peer", "ratio",
                                                         "stoker spread", "peer"))
    print("|%s|%s|%s|%s|%s|%s|" % ("-" * 54, "-" * 14, "-" * 14, "-" * 10, "-" * 24, "-" * 14))
    for name, mine, peer, sp, peer_name in rows:
        ratio = mine / peer if mine is not None and peer else None
        print("| %-52s | %12s | %12s | %8s | %-22s | %s |" % (
            name, fmt(mine), fmt(peer), fmt(ratio),
            "%s - %s" % (fmt(sp[0]), fmt(sp[1])) if sp[0] is not None else "-", peer_name))
    print("\ncommand: make %s  (%s, %d cores)" % ("bench-quick" if a.quick else "bench",
                                                 time.strftime("%Y-%m-%d"), os.cpu_count()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
