#!/usr/bin/python3
"""End-to-end tests of trace-span tagging (issue #7): build/stoker against tests/fixtures/spans,
which sets spans through the in-process ABI (include/stoker/trace_context.h), and against a
pinned map in the OpenTelemetry eBPF instrumentation layout. Profiles are decoded with the
strict decoder in tests/tools/pprof_check.py. Needs root; prints "N passed, N failed" last.
"""
import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from harness import (free_port, FIX, REPO, STOKER, Failure, check, enough, need, pprof_check,  # noqa: F401
                     profile_pid, run, run_agent, share_tolerance, stop)

SPANS = os.path.join(FIX, "spans")
TMP = tempfile.mkdtemp(prefix="stoker-spans-")
HZ = 499
BPFFS = "/sys/fs/bpf"

# The fixture's spans: span id -> trace id, and per share worker the A and B spans.
WORKERS = {"spans-w1": ("a1" * 8, "b1" * 8, "11" * 16),
           "spans-w2": ("a2" * 8, "b2" * 8, "22" * 16)}
RAPID = {("c%d" % n) * 8: ("d%d" % n) * 16 for n in range(4)}
TRACE_OF = dict(RAPID)
for a, b, t in WORKERS.values():
    TRACE_OF[a] = TRACE_OF[b] = t


def start_fixture(secs):
    fx = subprocess.Popen([SPANS, str(secs)], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True)
    check(fx.stdout.readline().strip() == "ready", "spans fixture started (pid %d)" % fx.pid)
    return fx


def profile_for(name, extra=(), secs=8, before_agent=None):
    """Runs the fixture and the agent on it; returns (decoded profile, fixture, agent result)."""
    fx = start_fixture(secs + 4)
    out = os.path.join(TMP, name + ".pb.gz")
    try:
        time.sleep(0.2)
        if before_agent:
            before_agent(fx)
        prof, r = profile_pid(fx.pid, out, secs, HZ, extra)
    finally:
        stop(fx)
    return prof, fx, r


def burn_of(frames):
    """The fixture's burn_* function a sample is in, or None."""
    for f in reversed(frames):
        if f.startswith("burn_"):
            return f
    return None


def tally(prof):
    """{(comm, burn fn, span_id, trace_id): samples}"""
    t = collections.Counter()
    for s in pprof_check.stacks(prof):
        lab = s["labels"]
        t[(lab.get("comm"), burn_of(s["frames"]), lab.get("span_id"),
           lab.get("trace_id"))] += s["count"]
    return t


def count(t, comm=None, fn=None, span=Ellipsis):
    return sum(n for (c, f, sp, _), n in t.items()
               if (comm is None or c == comm) and (fn is None or f == fn) and
               (span is Ellipsis or sp == span))


def test_span_shares_and_labels():
    """Spans via the in-process ABI: 70/30 shares, ids match, no label outside, no torn reads."""
    prof, fx, r = profile_for("abi")
    t = tally(prof)
    for k, n in sorted(t.items(), key=str):
        print("    %s %d" % (k, n))
    check("OpenTelemetry" not in r.stderr and "traces_ctx" not in r.stderr,
          "no OpenTelemetry map at the default path: nothing said about it")
    hexre = re.compile(r"^[0-9a-f]+$")
    for (_, _, sp, tr), n in t.items():
        if sp is None and tr is None:
            continue
        check(sp is not None and tr is not None and len(sp) == 16 and len(tr) == 32 and
              hexre.match(sp) and hexre.match(tr),
              "span_id %s / trace_id %s: 16 and 32 lowercase hex chars, together" % (sp, tr))
        check(TRACE_OF.get(sp) == tr,
              "trace_id %s belongs to span_id %s (%d samples)" % (tr, sp, n))
    # as many samples as the process's CPU time implies (a loaded host gives it less), and
    # each worker its part of them
    enough(count(t), prof, least=800)
    for comm, (a, b, _) in sorted(WORKERS.items()):
        total = count(t, comm)
        in_a = count(t, comm, "burn_span_a")
        in_b = count(t, comm, "burn_span_b")
        out = count(t, comm, "burn_outside")
        check(total >= 0.2 * count(t), "%s: at least a fifth of the samples (%d of %d)"
              % (comm, total, count(t)))
        check(count(t, comm, "burn_span_a", a) == in_a and count(t, comm, "burn_span_b", b)
              == in_b, "%s: every sample in burn_span_a/b carries span A/B" % comm)
        check(count(t, comm, "burn_outside", None) == out,
              "%s: no sample in burn_outside carries a span (%d samples)" % (comm, out))
        la, lb = count(t, comm, span=a), count(t, comm, span=b)
        share = la / float(la + lb)
        tol = share_tolerance(0.70, la + lb)
        check(abs(share - 0.70) <= tol,
              "%s: span A share of span samples %.3f within %.3f of 0.70 (%d/%d)"
              % (comm, share, tol, la, la + lb))
        outside = count(t, comm, span=None) / float(total)
        tol = share_tolerance(2 / 12.0, total)
        check(abs(outside - 2 / 12.0) <= tol, "%s: share outside any span %.3f within %.3f of "
              "%.3f" % (comm, outside, tol, 2 / 12.0))
    check(count(t, "spans", span=None) == count(t, "spans"),
          "main thread (never in a span): no span labels (%d samples)" % count(t, "spans"))
    rapid = count(t, "spans-rapid")
    labeled = collections.Counter()
    for (c, _, sp, _), n in t.items():
        if c == "spans-rapid" and sp:
            labeled[sp] += n
    check(rapid >= 200, "spans-rapid sampled (%d samples)" % rapid)
    check(set(labeled) <= set(RAPID),
          "torn-read check: spans-rapid samples carry only its own 4 span ids (%s)"
          % sorted(labeled))
    mid = count(t, "spans-rapid", "burn_mid_write")
    check(mid > 0 and count(t, "spans-rapid", "burn_mid_write", None) == mid,
          "seqlock: no sample taken mid-write (odd seq) carries a span (%d samples)" % mid)
    between = count(t, "spans-rapid", "burn_rapid")
    check(between > 0 and count(t, "spans-rapid", "burn_rapid", None) == 0,
          "spans-rapid: all %d samples between switches (burn_rapid) carry a span" % between)


def test_span_labels_off():
    """span_labels: false in the config file (and --span-labels=false) removes the labels."""
    cfg = os.path.join(TMP, "nospan.yaml")
    with open(cfg, "w") as f:
        f.write("span_labels: false\n")
    prof, _, _ = profile_for("off-config", ["--config", cfg], secs=3)
    keys = {k for s in pprof_check.stacks(prof) for k in s["labels"]}
    check(sum(s["count"] for s in pprof_check.stacks(prof)) >= 300, "samples still written")
    check(not keys & {"span_id", "trace_id"}, "no span_id/trace_id labels (keys: %s)" % keys)
    prof, _, _ = profile_for("off-flag", ["--span-labels=false"], secs=2)
    keys = {k for s in pprof_check.stacks(prof) for k in s["labels"]}
    check(not keys & {"span_id", "trace_id"}, "--span-labels=false: no span labels")
    r = run_agent(["--span-labels=maybe", "--duration", "1s", "--output", "/tmp/x.pb.gz"])
    check(r.returncode != 0 and "span-labels" in r.stderr,
          "--span-labels=maybe is refused naming the flag (%s)" % r.stderr.strip())


# -- OpenTelemetry eBPF instrumentation map ------------------------------------------------

def bpftool(*args):
    need("bpftool")
    r = subprocess.run(["bpftool"] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode:
        raise Failure("bpftool %s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


def ensure_bpffs():
    need("mount")
    with open("/proc/mounts") as f:
        if any(l.split()[1] == BPFFS and l.split()[2] == "bpf" for l in f):
            return
    subprocess.run(["mount", "-t", "bpf", "bpf", BPFFS], check=True)


def pin_dir():
    ensure_bpffs()
    d = os.path.join(BPFFS, "stoker-test-%d" % os.getpid())
    os.makedirs(d, exist_ok=True)
    return d


def le_hex(v, n):
    return ["%02x" % b for b in v.to_bytes(n, "little")]


def tids_of(pid):
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            out[f.read().strip()] = int(tid)
    return out


def test_otel_map_interop():
    """A pinned OpenTelemetry-layout map labels threads; the in-process ABI wins over it."""
    d = pin_dir()
    path = os.path.join(d, "traces_ctx_v1")
    otel_main = ("ee" * 8, "ff" * 16)
    otel_w1 = ("99" * 8, "88" * 16)
    try:
        bpftool("map", "create", path, "type", "hash", "key", "8", "value", "24", "entries",
                "1024", "name", "traces_ctx_v1")

        def fill(fx):
            tids = tids_of(fx.pid)
            for comm, (sp, tr) in (("spans", otel_main), ("spans-w1", otel_w1)):
                key = le_hex(fx.pid << 32 | tids[comm], 8)
                val = [tr[i:i + 2] for i in range(0, 32, 2)] + \
                      [sp[i:i + 2] for i in range(0, 16, 2)]
                bpftool("map", "update", "pinned", path, "key", "hex", *key, "value", "hex",
                        *val)

        prof, _, r = profile_for("otel", ["--trace-context-map", path], secs=5,
                                 before_agent=fill)
        t = tally(prof)
        for k, n in sorted(t.items(), key=str):
            print("    %s %d" % (k, n))
        main = count(t, "spans")
        check(main >= 50, "main thread sampled (%d)" % main)
        check(count(t, "spans", span=otel_main[0]) == main,
              "every main-thread sample carries the map's span %s" % otel_main[0])
        check(all(tr == otel_main[1] for (c, _, sp, tr) in t if c == "spans"),
              "main-thread samples carry the map's trace id")
        a, _, _ = WORKERS["spans-w1"]
        check(count(t, "spans-w1", "burn_span_a", a) == count(t, "spans-w1", "burn_span_a"),
              "spans-w1 inside its ABI span: the ABI's span, not the map's")
        out = count(t, "spans-w1", "burn_outside")
        check(out > 0 and count(t, "spans-w1", "burn_outside", otel_w1[0]) == out,
              "spans-w1 outside its ABI spans: the map's span (%d samples)" % out)
        check(count(t, "spans-w2", "burn_outside", None) == count(t, "spans-w2", "burn_outside"),
              "spans-w2 (not in the map) outside its spans: no label")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_otel_map_rejected():
    """A named map of the wrong layout, or a path off bpffs, is a startup error saying why."""
    d = pin_dir()
    path = os.path.join(d, "wrong")
    try:
        bpftool("map", "create", path, "type", "array", "key", "4", "value", "8", "entries",
                "4", "name", "wrong_layout")
        r = run_agent(["--trace-context-map", path, "--duration", "1s", "--output",
                       os.path.join(TMP, "never.pb.gz")])
        print("    stderr: " + r.stderr.strip()[-300:])
        check(r.returncode != 0, "agent exits non-zero (%d)" % r.returncode)
        check(path in r.stderr and "expected a hash or lru_hash map with 8-byte keys" in
              r.stderr and "found array" in r.stderr and "4-byte keys" in r.stderr,
              "the message names the path, what was expected and what was found")
        outside = os.path.join("/tmp", "stoker-not-bpffs-%d" % os.getpid(), "m")
        r = run_agent(["--trace-context-map", outside, "--duration", "1s", "--output",
                       os.path.join(TMP, "never.pb.gz")])
        shutil.rmtree(os.path.dirname(outside), ignore_errors=True)
        print("    stderr: " + r.stderr.strip()[-300:])
        check(r.returncode != 0 and outside in r.stderr and "bpffs" in r.stderr,
              "a named path that cannot be pinned (not on bpffs) is a startup error saying so")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_otel_map_created_when_missing():
    """A named map that is not pinned yet is created with OBI's layout, pinned, and read."""
    d = pin_dir()
    path = os.path.join(d, "otel", "traces_ctx_v1")  # its directory does not exist either
    span, trace = "77" * 8, "66" * 16
    try:
        def fill(fx):
            # the instrumentation starting after the agent finds the pin and writes to it
            deadline = time.time() + 10
            while not os.path.exists(path) and time.time() < deadline:
                time.sleep(0.05)
            check(os.path.exists(path), "the agent pinned %s" % path)
            info = json.loads(bpftool("-j", "map", "show", "pinned", path))
            check(info["type"] == "lru_hash" and info["bytes_key"] == 8 and
                  info["bytes_value"] == 24 and info["max_entries"] == 16384,
                  "pinned with OBI's definition (%s)" % {k: info.get(k) for k in
                                                        ("type", "bytes_key", "bytes_value",
                                                         "max_entries")})
            key = le_hex(fx.pid << 32 | tids_of(fx.pid)["spans"], 8)
            val = [trace[i:i + 2] for i in range(0, 32, 2)] + \
                  [span[i:i + 2] for i in range(0, 16, 2)]
            bpftool("map", "update", "pinned", path, "key", "hex", *key, "value", "hex", *val)

        fx = start_fixture(10)
        out = os.path.join(TMP, "created.pb.gz")
        try:
            a = subprocess.Popen([STOKER, "--pid", str(fx.pid), "--duration", "5s",
                                  "--sample-rate", str(HZ), "--trace-context-map", path,
                                  "--output", out], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            fill(fx)
            _, err = a.communicate(timeout=60)
        finally:
            stop(fx)
        check(a.returncode == 0, "agent exits 0 (%s)" % err.strip()[-300:])
        check("created and pinned" in err, "the agent says it created the map")
        t = tally(pprof_check.load(out))
        main = count(t, "spans")
        labelled = count(t, "spans", span=span)
        print("    main thread: %d samples, %d with the map's span" % (main, labelled))
        # samples before the map entry was written carry no span; the rest must
        check(main >= 50 and labelled >= main * 0.7,
              "main-thread samples carry the span written after the agent started")
        check(os.path.exists(path), "the pin outlives the agent (OBI may hold it)")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_span_labels_pushed():
    """Pushed to the strict receiver: span ids are sample labels only, one series, right spans."""
    import test_push
    rx = test_push.Receiver()
    fx = start_fixture(14)
    try:
        time.sleep(0.2)
        a = test_push.agent(["--pid", str(fx.pid), "--duration", "7s", "--upload-interval",
                             "2s", "--server-url", rx.url, "--spool-dir", ""])
        rc, err = test_push.finish(a)
    finally:
        stop(fx)
        rx.stop()
    recs = rx.records()
    shutil.rmtree(test_push.TMP, ignore_errors=True)
    check(rc == 0, "agent exits 0 (%s)" % err.strip()[-400:])
    windows = {}
    for r in recs:
        windows.setdefault(r["time_nanos"], set()).add(tuple(sorted(r["labels"].items())))
    check(len(windows) >= 3, "at least 3 windows pushed (%d)" % len(windows))
    check(all(len(series) == 1 for series in windows.values()),
          "one series per window: spans add no series (%s)" %
          sorted(len(v) for v in windows.values()))
    check(all("span_id" not in r["labels"] and "trace_id" not in r["labels"] for r in recs),
          "span_id and trace_id are never series labels")
    by_fn, wrong, outside = collections.Counter(), [], []
    for r in recs:
        for st in r["stacks"]:
            fn, lab = burn_of(st["frames"]), st["labels"]
            sp = lab.get("span_id")
            if fn in ("burn_span_a", "burn_span_b"):
                want = {w[0 if fn == "burn_span_a" else 1] for w in WORKERS.values()}
                if sp not in want or lab.get("trace_id") != TRACE_OF[sp]:
                    wrong.append((fn, lab))
            elif fn == "burn_outside" and sp is not None:
                outside.append(lab)
            by_fn[fn] += st["count"]
    check(not wrong, "every burn_span_a/b sample carries its span and trace (%s)" % wrong[:3])
    check(not outside, "no span on burn_outside samples (%s)" % outside[:3])
    share = by_fn["burn_span_a"] / max(1, by_fn["burn_span_a"] + by_fn["burn_span_b"])
    print("    pushed samples by function: %s" % dict(by_fn))
    tol = share_tolerance(0.70, by_fn["burn_span_a"] + by_fn["burn_span_b"])
    check(abs(share - 0.70) <= tol, "span A share %.3f within %.3f of 0.70" % (share, tol))


def scrape(url):
    import urllib.request
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def parse_prometheus(text):
    """({name: value}, {name: type}); fails naming every line that is not valid Prometheus text
    exposition."""
    vals, helped, typed, bad = {}, set(), {}, []
    for ln in text.splitlines():
        if not ln:
            continue
        m = re.match(r"# (HELP|TYPE) (stoker_[a-z0-9_]+) (.+)$", ln)
        if m:
            (helped.add(m.group(2)) if m.group(1) == "HELP"
             else typed.__setitem__(m.group(2), m.group(3)))
            continue
        m = re.match(r"(stoker_[a-z0-9_]+) ([0-9]+(\.[0-9]+)?)$", ln)
        if not m:
            bad.append("not a sample line: %r" % ln)
            continue
        name = m.group(1)
        if name not in helped or name not in typed:
            bad.append("%s lacks # HELP or # TYPE" % name)
        elif typed[name] not in ("counter", "gauge"):
            bad.append("%s has type %s" % (name, typed[name]))
        elif typed[name] == "counter" and not name.endswith("_total"):
            bad.append("counter %s does not end in _total" % name)
        if name in vals:
            bad.append("%s twice" % name)
        vals[name] = float(m.group(2))
    check(not bad, "valid Prometheus text, %d metrics (%s)" % (len(vals), bad[:5]))
    return vals, typed


def registry_rows():
    """[(metric name, type)] of every row of the counter registry, read from its headers."""
    rows = []
    for path in ("include/sampler_counters.h", "agent/ops/counters.h"):
        with open(os.path.join(REPO, path)) as f:
            text = f.read().replace("\\\n", " ")
        found = re.findall(r'\bX\(\s*[A-Z0-9_]+,\s*"([a-z0-9_]+)",\s*(COUNTER|GAUGE),', text)
        check(len(found) >= 10, "%s: %d registry rows" % (path, len(found)))
        rows += [("stoker_" + name, kind.lower()) for name, kind in found]
    return rows


def test_metrics_endpoint():
    """/metrics counts span samples, ABI processes and unwinding; /healthz answers."""
    port = free_port()
    fx = start_fixture(12)
    out = os.path.join(TMP, "metrics.pb.gz")
    try:
        a = subprocess.Popen([STOKER, "--pid", str(fx.pid), "--duration", "8s", "--sample-rate",
                              str(HZ), "--metrics-addr", "127.0.0.1:%d" % port, "--output", out],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(5)
        code, ctype, body = scrape("http://127.0.0.1:%d/metrics" % port)
        hcode, _, _ = scrape("http://127.0.0.1:%d/healthz" % port)
        _, err = a.communicate(timeout=60)
    finally:
        stop(fx)
    check(a.returncode == 0, "agent exits 0 (%s)" % err.strip()[-300:])
    check(code == 200 and ctype.startswith("text/plain"), "/metrics 200 text/plain (%d %s)" %
          (code, ctype))
    check(hcode == 200, "/healthz 200 while sampling (%d)" % hcode)
    v, types = parse_prometheus(body)
    rows = registry_rows()
    missing = [n for n, _ in rows if n not in v]
    mistyped = [n for n, t in rows if n in v and types[n] != t]
    check(not missing and not mistyped, "every registry row (%d) is on /metrics with its type "
          "(missing %s, wrong type %s)" % (len(rows), missing[:5], mistyped[:5]))
    check(len(v) == len(rows), "nothing on /metrics outside the registry (%d metrics, %d rows)"
          % (len(v), len(rows)))
    for k in ("samples_received_total", "span_samples_total", "span_processes_found_total",
              "span_files_checked_total", "unwind_frames_table_total"):
        print("    stoker_%s %s" % (k, v.get("stoker_" + k)))
    check(v.get("stoker_samples_received_total", 0) >= 500, "samples counted")
    check(0 < v.get("stoker_span_samples_total", 0) <= v["stoker_samples_received_total"],
          "span samples counted, no more than samples")
    check(v.get("stoker_span_processes_found_total") == 1,
          "the fixture is the one process found exporting the ABI")
    check(v.get("stoker_unwind_frames_table_total", 0) > 0, "table-unwound frames counted")
    m = re.search(r"spans: (\d+) samples inside a trace span; (\d+) processes export", err)
    check(m and int(m.group(2)) == 1 and int(m.group(1)) >= v["stoker_span_samples_total"],
          "the exit summary reports spans too (%s)" % (m.group(0) if m else "missing"))
    lines = [p for p in ("samples: ", "symbols: ", "unwinding: ", "spans: ")
             if not re.search(r"\b%s\d+ " % p, err)]
    check(not lines, "the exit summary has its samples, symbols, unwinding and spans lines "
          "(missing %s)" % lines)


# A slow client as the attacker would run it: "dribble" sends a request one byte every 0.8 s,
# "silent" connects and sends nothing. Each prints how long the agent kept it connected.
SLOW_CLIENT = r"""
import socket, sys, time
kind, port = sys.argv[1], int(sys.argv[2])
so = socket.create_connection(("127.0.0.1", port))
so.settimeout(0.8)
t0, req, held = time.time(), b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 64, 0
while time.time() - t0 < 12:
    try:
        if kind == "dribble":
            so.send(req[held % len(req):held % len(req) + 1])
            held += 1
        if so.recv(1) == b"":
            break
    except socket.timeout:
        continue
    except OSError:
        break
print("%.2f" % (time.time() - t0))
"""


def test_metrics_slow_clients():
    """/healthz and /metrics answer within a second while slow and silent clients (as nobody)
    hold connections; the agent drops each slow client within its deadline."""
    port = free_port()
    fx = start_fixture(30)
    out = os.path.join(TMP, "slow.pb.gz")
    # The attacker is any local user; setpriv (util-linux) drops to nobody when run as root.
    drop = (["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
            if os.geteuid() == 0 and shutil.which("setpriv") else [])
    slow, times = [], []
    try:
        a = subprocess.Popen([STOKER, "--pid", str(fx.pid), "--duration", "20s", "--sample-rate",
                              str(HZ), "--metrics-addr", "127.0.0.1:%d" % port, "--output", out],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        # more than the agent has connection slots (8), so a full house is tried too
        for kind in ["dribble", "dribble"] + ["silent"] * 10:
            slow.append(subprocess.Popen(drop + ["/usr/bin/python3", "-c", SLOW_CLIENT, kind,
                                                 str(port)],
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True))
        time.sleep(0.5)  # all connected and the dribblers started
        for path in ("/healthz", "/metrics") * 4:
            t0 = time.time()
            try:
                code = scrape("http://127.0.0.1:%d%s" % (port, path))[0]
            except OSError as e:
                code = str(e)
            times.append((path, code, time.time() - t0))
        held = [(p.args[-2], p.communicate(timeout=30)) for p in slow]
        after = [scrape("http://127.0.0.1:%d%s" % (port, p))[0] for p in ("/healthz", "/metrics")]
        a.send_signal(signal.SIGINT)  # done: no need to sit out the rest of --duration
        _, err = a.communicate(timeout=60)
    finally:
        for p in slow:
            if p.poll() is None:
                p.kill()
        stop(fx)
    print("    answers while slow clients held on: %s" %
          ", ".join("%s %s %.2fs" % t for t in times))
    print("    slow clients held for: %s" % ", ".join("%s %s" % (k, o.strip() or e.strip()[-80:])
                                                   for k, (o, e) in held))
    check(all(c == 200 and dt < 1.0 for _, c, dt in times),
          "every /healthz and /metrics answered 200 within 1 s while slow clients were connected")
    check(all(o.strip() and float(o) < 4.0 for _, (o, _) in held),
          "each slow client was dropped within its deadline (under 4 s)")
    check(after == [200, 200], "the agent still answers after the slow clients gave up (%s)" % after)
    check(a.returncode == 0, "agent exits 0 (%s)" % err.strip()[-300:])


def main():
    try:
        rc = run("spans", [test_span_shares_and_labels, test_span_labels_off,
                           test_otel_map_interop, test_otel_map_rejected,
                           test_otel_map_created_when_missing, test_metrics_endpoint,
                           test_metrics_slow_clients,
                           test_span_labels_pushed], sys.argv[1:])
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
