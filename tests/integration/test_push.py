#!/usr/bin/python3
"""End-to-end tests of continuous mode: build/stoker pushing real profiles of real processes
to the strict fake Pyroscope server in tests/tools/pyroscope_receiver.py, through faults.
Needs root for BPF: fails loudly without it. Prints "N passed, N failed" last.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from cpu_watch import CpuWatch, ceiling  # noqa: E402
from harness import FIX, STOKER, TOOLS, Failure, check, free_port, need, run  # noqa: E402,F401

RECEIVER = os.path.join(TOOLS, "pyroscope_receiver.py")
TMP = tempfile.mkdtemp(prefix="stoker-push-")


class Receiver:
    def __init__(self, *args, hz=99):
        self.record = os.path.join(TMP, "rec-%d.jsonl" % time.monotonic_ns())
        self.p = subprocess.Popen(["/usr/bin/python3", RECEIVER, "--port", "0", "--record",
                                   self.record, "--cpu-hz", str(hz)] + list(args),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if not line.startswith("listening on "):
            raise Failure("receiver did not start: %r %s" % (line, self.p.stderr.read()))
        self.port = int(line.split()[-1])
        self.url = "http://127.0.0.1:%d" % self.port

    def control(self, **mode):
        if mode.get("mode") == "refuse":
            self.p.send_signal(signal.SIGUSR2)  # the control port closes with it
            self.refusing = True
            time.sleep(0.3)
            return
        if getattr(self, "refusing", False):
            self.p.send_signal(signal.SIGUSR1)
            self.refusing = False
            deadline = time.time() + 5
            while time.time() < deadline:
                try:
                    urllib.request.urlopen(self.url + "/__stats", timeout=1).read()
                    break
                except Exception:
                    time.sleep(0.05)
        req = urllib.request.Request(self.url + "/__control", data=json.dumps(mode).encode(),
                                     method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).read()

    def records(self):
        if not os.path.exists(self.record):
            return []
        with open(self.record) as f:
            return [json.loads(ln) for ln in f if ln.strip()]

    def stop(self):
        # what the receiver refused, shown so that a failing count can be told from a
        # rule the agent broke (faults the test injected are not in this list)
        try:
            with urllib.request.urlopen(self.url + "/__stats", timeout=2) as r:
                for line in json.loads(r.read()).get("last_rejections", []):
                    print("    receiver rejected: " + line)
        except Exception:
            pass  # refusing, or a TLS listener
        self.p.terminate()
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()


def agent(args, hz=99, **kw):
    return subprocess.Popen([STOKER, "--sample-rate", str(hz)] + args, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def finish(a, timeout=60):
    out, err = a.communicate(timeout=timeout)
    return a.returncode, err


def fixture(seconds=60):
    return subprocess.Popen([os.path.join(FIX, "shares"), str(seconds)],
                            stdout=subprocess.DEVNULL)


def window_starts(recs):
    return sorted({r["time_nanos"] for r in recs})


def uploads_line(err):
    up = [ln for ln in err.splitlines() if "uploads:" in ln]
    if not up:
        raise Failure("no uploads: summary in the agent's log: " + err.strip()[-300:])
    return up[-1]


def windows_closed(err):
    """Windows the agent closed with samples in them, from its exit summary: each must reach
    the server. (Its delivery counters are not used: the receiver's records are.)"""
    return int(re.search(r"(\d+) windows closed", uploads_line(err)).group(1))


def spool_starts(spool):
    """Start times (ns) of the windows left in a spool directory, from the files' names."""
    return {int(f.split("-")[0]) for f in os.listdir(spool) if f.endswith(".spool")}


def check_exact_delivery(recs, err, seconds, closed=None, span=None, left=()):
    """What the receiver recorded is every window the agent closed, once each, in order, and
    the windows tile the run: each starts where the one before ended, and together they
    cover --duration. A window lost with its count (or a count lost with its window) breaks
    the tiling even where the counts agree. left: start times of windows the agent kept in
    its spool at exit (delivered by its next run), which the tiling skips."""
    closed = windows_closed(err) if closed is None else closed
    # a series split at the server's limits sends parts with the same labels and time (and
    # of uniform stacks, the same size), but never the same samples
    keys = [(r["time_nanos"], tuple(sorted(r["labels"].items())),
             tuple(sorted((tuple(st["frames"]), st["count"], tuple(sorted(st["labels"].items())))
                          for st in r["stacks"]))) for r in recs]
    check(len(keys) == len(set(keys)), "no profile arrived twice (%d records, %d distinct)"
          % (len(keys), len(set(keys))))
    arrival = [r["time_nanos"] for r in recs]
    check(arrival == sorted(arrival), "windows arrived in order")
    durs = {}
    for r in recs:
        durs.setdefault(r["time_nanos"], set()).add(r["duration_nanos"])
    starts = sorted(durs)
    left = set(left)
    check(not left & set(starts), "no window both delivered and left in the spool")
    check(len(starts) + len(left) == closed, "windows received by the server%s == windows "
          "the agent closed (%d%s == %d)" % (" + left in the spool" if left else "",
                                             len(starts), " + %d" % len(left) if left else "",
                                             closed))
    check(all(len(d) == 1 for d in durs.values()), "one duration per window")
    dur = {t: d.pop() for t, d in durs.items()}
    gaps = [(b - a - dur[a]) / 1e9 for a, b in zip(starts, starts[1:])
            if not any(a < x < b for x in left)]
    check(all(abs(g) < 0.2 for g in gaps), "each window starts where the previous ended "
          "(gaps %s s)" % ["%.3f" % g for g in gaps])
    if not left:
        covered = sum(dur.values()) / 1e9
        check(seconds - 0.2 <= covered <= seconds + 1.5,
              "the windows cover the %d s run (%.2f s)" % (seconds, covered))
    if span:  # (wall ns before the agent started, after it exited): the run's own clock
        first, last = starts[0], starts[-1] + dur[starts[-1]]
        check(span[0] <= first and last <= span[1], "the windows lie within the agent's run "
              "(from %+.3f s to %+.3f s of its start, exit at %+.3f s)"
              % ((first - span[0]) / 1e9, (last - span[0]) / 1e9, (span[1] - span[0]) / 1e9))


def attempts(rx):
    with urllib.request.urlopen(rx.url + "/__stats", timeout=5) as r:
        return json.loads(r.read())["attempts"]


def test_push_known_workload():
    """Pushes of a known workload: valid requests, right labels, every window once, and the
    samples the fixture's CPU time implies."""
    rx = Receiver(hz=299)
    fx = fixture()
    watch = CpuWatch(fx.pid)
    try:
        t0 = time.time_ns()
        # 299 Hz: about 2000 samples, so 5 points are 4 standard deviations of hot_a's share
        a = agent(["--pid", str(fx.pid), "--duration", "7s", "--upload-interval", "2s",
                   "--server-url", rx.url, "--label", "env=test", "--spool-dir", ""], hz=299)
        rc, err = finish(a)
        t1 = time.time_ns()
    finally:
        watch.stop()
        fx.kill()
        fx.wait()
        rx.stop()
    check(rc == 0, "agent exits 0 (%s)" % err.strip()[-400:])
    recs = rx.records()
    check_exact_delivery(recs, err, 7, span=(t0, t1))
    labels = recs[0]["labels"]
    check(labels.get("__name__") == "process_cpu", "__name__ is process_cpu")
    check(labels.get("service_name") == "shares", "service_name inferred from the executable")
    check(labels.get("env") == "test", "static label present")
    check("pid" not in labels and all("pid" not in s["labels"] for r in recs
                                      for s in r["stacks"]), "no pid label anywhere")
    total = sum(r["total_samples"] for r in recs)
    hot = {"hot_a": 0, "hot_b": 0, "hot_c": 0}
    for r in recs:
        for s in r["stacks"]:
            for fn in hot:
                if fn in s["frames"]:
                    hot[fn] += s["count"]
    t0 = min(r["time_nanos"] for r in recs)
    t1 = max(r["time_nanos"] + r["duration_nanos"] for r in recs)
    want, floor = watch.floor(t0, t1, 299)
    print("    total=%d hot=%s; the fixture's CPU time implies %.0f" % (total, hot, want))
    check(total >= floor, "samples at the server (%d) at least 85%% of what the fixture's "
          "CPU time implies at 299 Hz (%.0f)" % (total, want))
    check(total <= ceiling(want), "and not more than it implies (%d of %.0f)" % (total, want))
    recv = int(re.search(r"(\d+) received", err).group(1))
    check(total == recv, "every sample the agent received arrived at the server (%d of %d)"
          % (total, recv))
    check(abs(hot["hot_a"] / total - 0.6) <= 0.05, "hot_a share %.3f within 5 points of 60%%"
          % (hot["hot_a"] / total))


def test_tenant_and_auth_modes():
    """X-Scope-OrgID, basic auth from a file, bearer token from a file, extra headers."""
    pw = os.path.join(TMP, "pw")
    tok = os.path.join(TMP, "tok")
    open(pw, "w").write("s3cret\n")
    open(tok, "w").write("tok-123\n")
    cases = [
        (["--require-tenant"], ["--tenant-id", "team-a"]),
        (["--basic-auth", "alice:s3cret"], ["--basic-auth-user", "alice",
                                            "--basic-auth-password-file", pw]),
        (["--bearer-token", "tok-123"], ["--bearer-token-file", tok]),
        (["--require-header", "X-Custom: yes"], ["--header", "X-Custom: yes"]),
    ]
    # wrong credentials are rejected (401) and counted, not retried forever
    wrong = (["--basic-auth", "alice:other"], ["--basic-auth-user", "alice",
                                              "--basic-auth-password-file", pw])
    # every case at once: each its own receiver and agent
    runs = []
    try:
        for rx_args, agent_args in cases + [wrong]:
            rx = Receiver(*rx_args)
            runs.append(dict(name=rx_args[0], rx=rx))
            runs[-1]["agent"] = agent(["--duration", "3s", "--upload-interval", "1s",
                                       "--server-url", rx.url, "--spool-dir", ""] + agent_args)
        for r in runs:
            r["rc"], r["err"] = finish(r["agent"])
            r["recs"] = r["rx"].records()
    finally:
        for r in runs:
            if "agent" in r and r["agent"].poll() is None:
                r["agent"].kill()
            r["rx"].stop()
    for r in runs[:-1]:
        check(r["rc"] == 0 and r["recs"], "%s accepted (%d profiles)" % (r["name"],
                                                                        len(r["recs"])))
        check_exact_delivery(r["recs"], r["err"], 3)
        check("s3cret" not in r["err"] and "tok-123" not in r["err"], "secrets never logged")
    r = runs[-1]
    check(r["rc"] == 0 and "rejected" in r["err"] and "401" in r["err"],
          "401 logged as rejected")


def test_server_down_then_back_in_order():
    """Server refuses for several windows, then returns: every window arrives once, in order."""
    rx = Receiver()
    fx = fixture()
    try:
        rx.control(mode="refuse")
        a = agent(["--pid", str(fx.pid), "--duration", "9s", "--upload-interval", "1s",
                   "--server-url", rx.url, "--spool-dir", os.path.join(TMP, "sp-order")])
        time.sleep(5)
        rx.control(mode="ok")
        rc, err = finish(a)
    finally:
        fx.kill()
        fx.wait()
        rx.stop()
    check(rc == 0, "agent exits 0 (%s)" % err.strip()[-300:])
    check_exact_delivery(rx.records(), err, 9)


# Each fault the README says is retried, as the receiver injects it: (name, control, extra
# agent flags). Counted, so the test can see every one of them reached the agent.
FAULTS = [
    ("503", dict(mode="status", code=503, count=3), []),
    ("500", dict(mode="status", code=500, count=2), []),
    ("408", dict(mode="status", code=408, count=2), []),
    ("429 without Retry-After", dict(mode="status", code=429, count=3), []),
    ("429 with Retry-After", dict(mode="status", code=429, count=2, retry_after=1), []),
    ("a stall past --upload-timeout", dict(mode="hang", count=2, seconds=3),
     ["--upload-timeout", "1s"]),
    ("a connection reset mid-request", dict(mode="close_mid_body", count=3), []),
]


def test_retried_faults_deliver_every_window_once():
    """408, 429 (with and without Retry-After), 500, 503, a stall past the timeout and a reset
    mid-request: each is retried until accepted, and the server ends up with every window
    the agent closed, once, in order, tiling the run."""
    # one agent and receiver per fault, all at once (they mostly wait), on one fixture
    runs = []
    fx = fixture()
    try:
        for name, fault, extra in FAULTS:
            rx = Receiver()
            runs.append(dict(name=name, fault=fault, rx=rx))
            rx.control(**fault)
        for r, (_, _, extra) in zip(runs, FAULTS):
            r["t0"] = time.time_ns()
            r["agent"] = agent(["--pid", str(fx.pid), "--duration", "7s", "--upload-interval",
                                "1s", "--server-url", r["rx"].url, "--spool-dir", ""] + extra)
        for r in runs:
            r["rc"], r["err"] = finish(r["agent"])
            r["t1"] = time.time_ns()
            r["tries"] = attempts(r["rx"])
            r["recs"] = r["rx"].records()
    finally:
        fx.kill()
        fx.wait()
        for r in runs:
            if "agent" in r and r["agent"].poll() is None:
                r["agent"].kill()
            r["rx"].stop()
    for r in runs:
        fault, tries = r["fault"], r["tries"]
        print("  - " + r["name"])
        check(r["rc"] == 0, "agent exits 0 (%s)" % r["err"].strip()[-300:])
        injected = [t for t in tries if t["outcome"] != "200"]
        want = fault.get("code") and str(fault["code"]) or fault["mode"]
        check(len(injected) == fault["count"] and all(t["outcome"] == want for t in injected),
              "the %d injected faults met the agent (%s)" % (fault["count"],
                                                            [t["outcome"] for t in tries]))
        check_exact_delivery(r["recs"], r["err"], 7, span=(r["t0"], r["t1"]))


def test_backoff_schedule():
    """Retries of one window follow the documented schedule: 500 ms doubling (1, 2, 4 s),
    each +-20%, timed by the receiver's clock."""
    rx = Receiver()
    fx = fixture()
    try:
        rx.control(mode="status", code=503, count=4)
        # 8 s of retries hold 8 windows: a queue that keeps them all (no spool here)
        a = agent(["--pid", str(fx.pid), "--duration", "10s", "--upload-interval", "1s",
                   "--queue-size", "16", "--server-url", rx.url, "--spool-dir", ""])
        rc, err = finish(a)
        tries = attempts(rx)
    finally:
        fx.kill()
        fx.wait()
        rx.stop()
    check(rc == 0, "agent exits 0 (%s)" % err.strip()[-300:])
    outcomes = [t["outcome"] for t in tries]
    check(outcomes[:5] == ["503"] * 4 + ["200"], "four 503s, then accepted (%s)" % outcomes)
    gaps = [b["t"] - a["t"] for a, b in zip(tries, tries[1:5])]
    print("    gaps between tries: %s s" % ["%.3f" % g for g in gaps])
    for g, want in zip(gaps, (0.5, 1.0, 2.0, 4.0)):
        # +-20% jitter; a request here takes a few ms, a loaded host adds a little more
        check(0.8 * want - 0.02 <= g <= 1.2 * want + 0.25,
              "retry after %.3f s, within 20%% of %.1f s" % (g, want))
    check_exact_delivery(rx.records(), err, 10)


def test_400_not_retried():
    """A 400 is not retried: the window is dropped once and counted as rejected."""
    rx = Receiver()
    try:
        rx.control(mode="status", code=400, count=1)
        a = agent(["--duration", "3s", "--upload-interval", "1s", "--server-url", rx.url,
                   "--spool-dir", ""])
        rc, err = finish(a)
        tries = attempts(rx)
    finally:
        rx.stop()
    check(rc == 0 and "HTTP 400" in err and " 1 rejected" in err,
          "400 logged and counted as rejected, not retried")
    check([t["outcome"] for t in tries].count("400") == 1 and
          len(window_starts(rx.records())) == windows_closed(err) - 1,
          "the server saw the rejected window once and every other window (%s)"
          % [t["outcome"] for t in tries])


def test_sigkill_while_spooling_then_restart():
    """Killed with SIGKILL while the server is down: spooled windows arrive after restart."""
    spool = os.path.join(TMP, "sp-kill")
    rx = Receiver()
    try:
        rx.control(mode="refuse")
        a = agent(["--duration", "60s", "--upload-interval", "1s", "--queue-size", "1",
                   "--server-url", rx.url, "--spool-dir", spool])
        time.sleep(5)
        a.send_signal(signal.SIGKILL)
        a.communicate()
        spooled = [f for f in os.listdir(spool) if f.endswith(".spool")]
        check(len(spooled) >= 2, "windows beyond the queue were spooled (%d)" % len(spooled))
        rx.control(mode="ok")
        a = agent(["--duration", "3s", "--upload-interval", "1s", "--server-url", rx.url,
                   "--spool-dir", spool])
        rc, err = finish(a)
    finally:
        rx.stop()
    recs = rx.records()
    left = [f for f in os.listdir(spool) if f.endswith(".spool")]
    check(rc == 0, "agent exits 0 (%s)" % err.strip()[-300:])
    spooled_starts = sorted(int(f.split("-")[0]) for f in spooled)
    got = window_starts(recs)
    check(got[:len(spooled)] == spooled_starts, "every spooled window replayed, first")
    # the new run's windows: exactly those it closed, tiling its 3 s
    check_exact_delivery([r for r in recs if r["time_nanos"] not in set(spooled_starts)],
                         err, 3)
    check(len(got) == len(spooled) + windows_closed(err), "nothing else arrived")
    check([r["time_nanos"] for r in recs] == sorted(r["time_nanos"] for r in recs),
          "replayed in order, before newer windows")
    check(not left, "spool emptied after delivery")


def test_spool_cap_and_corrupt_file():
    """The spool stays under --spool-max-bytes (oldest dropped, counted); a corrupt file is
    skipped with a warning."""
    spool = os.path.join(TMP, "sp-cap")
    os.makedirs(spool, mode=0o700)
    # a torn file from a recent window (an old one would simply expire unread)
    with open(os.path.join(spool, "%020d-00000001.spool" % (time.time_ns() - 10 ** 9)),
              "wb") as f:
        f.write(b"STKSPL01" + b"\0" * 100)
    rx = Receiver()
    try:
        rx.control(mode="refuse")
        fx = fixture()
        a = agent(["--pid", str(fx.pid), "--duration", "10s", "--upload-interval", "1s",
                   "--queue-size", "1", "--server-url", rx.url, "--spool-dir", spool,
                   "--spool-max-bytes", "3KiB"])
        rc, err = finish(a)
        fx.kill()
        fx.wait()
    finally:
        rx.stop()
    files = [f for f in os.listdir(spool) if f.endswith(".spool")]
    size = sum(os.path.getsize(os.path.join(spool, f)) for f in files)
    up = [ln for ln in err.splitlines() if "uploads:" in ln][-1]
    dropped = int(re.search(r"(\d+) dropped \(spool full", up).group(1))
    check(rc == 0, "agent exits 0 with a corrupt spool file present")
    check("torn or corrupt" in err, "the corrupt spool file is skipped with a warning")
    check(size <= 3 * 1024, "spool within its 3 KiB budget (%d bytes in %d files)"
          % (size, len(files)))
    check(dropped > 0, "windows beyond the budget dropped oldest first and counted (%d)" % dropped)
    windows = int(re.search(r"(\d+) windows closed", up).group(1))
    check(windows == dropped + len(files), "every window is in the spool or counted as "
          "dropped (%d = %d + %d)" % (windows, dropped, len(files)))


def test_unsafe_spool_refused():
    """A spool directory another user could write (mode 0777, owned by nobody, or a symlink)
    is refused with a clear error and never read: a window planted there is not pushed. The
    agent still delivers its own windows."""
    cases = []
    for name, setup in (("sp-0777", lambda d: os.chmod(d, 0o777)),
                        ("sp-nobody", lambda d: os.chown(d, 65534, 65534)),
                        ("sp-link", None)):
        d = os.path.join(TMP, name)
        if setup:
            os.makedirs(d, mode=0o700)
            setup(d)
        else:
            real = os.path.join(TMP, "sp-link-target")
            os.makedirs(real, mode=0o700)
            os.symlink(real, d)
        cases.append((name, d))
    # a valid window from an earlier run, planted in each: replayed only from a trusted spool
    ok_dir = os.path.join(TMP, "sp-source")
    rx = Receiver()
    try:
        rx.control(mode="refuse")
        a = agent(["--duration", "3s", "--upload-interval", "1s", "--queue-size", "1",
                   "--server-url", rx.url, "--spool-dir", ok_dir])
        finish(a)
        spooled = sorted(f for f in os.listdir(ok_dir) if f.endswith(".spool"))
        check(len(spooled) >= 1, "a window to plant was spooled (%d)" % len(spooled))
        planted_start = int(spooled[0].split("-")[0])
        rx.control(mode="ok")
        for name, d in cases:
            target = os.path.realpath(d)
            shutil.copy(os.path.join(ok_dir, spooled[0]), os.path.join(target, spooled[0]))
            n = len(rx.records())
            a = agent(["--duration", "2s", "--upload-interval", "1s", "--server-url", rx.url,
                       "--spool-dir", d])
            rc, err = finish(a)
            recs = rx.records()[n:]
            check(rc == 0 and "refused spool directory" in err,
                  "%s refused with a clear error (%s)" % (name, [ln for ln in err.splitlines()
                                                                   if "spool" in ln]))
            check(recs and planted_start not in {r["time_nanos"] for r in recs},
                  "%s: own windows delivered (%d), the planted one not" % (name, len(recs)))
    finally:
        rx.stop()


def test_ingest_api():
    """The legacy /ingest path delivers the same profiles."""
    rx = Receiver()
    try:
        a = agent(["--duration", "3s", "--upload-interval", "1s", "--server-url", rx.url,
                   "--server-api", "ingest", "--label", "env=x", "--spool-dir", ""])
        rc, err = finish(a)
    finally:
        rx.stop()
    recs = rx.records()
    check(rc == 0 and recs and all(r["api"] == "ingest" for r in recs),
          "profiles arrived through /ingest (%d)" % len(recs))
    check_exact_delivery(recs, err, 3)
    check(recs[0]["labels"].get("env") == "x", "tags carried in the name")


def test_ingest_service_name_outside_legacy_syntax():
    """/ingest's application name allows only [A-Za-z0-9_./-] and a tag value ends at ',' or
    '}': a process named g++ and a label value with both still arrive, under their names."""
    exe = os.path.join(TMP, "g++")
    shutil.copy(os.path.join(FIX, "shares"), exe)
    rx = Receiver()
    fx = subprocess.Popen([exe, "60"], stdout=subprocess.DEVNULL)
    try:
        a = agent(["--pid", str(fx.pid), "--duration", "3s", "--upload-interval", "1s",
                   "--server-url", rx.url, "--server-api", "ingest", "--label", "env=a,b}",
                   "--spool-dir", ""])
        rc, err = finish(a)
    finally:
        fx.kill()
        fx.wait()
        rx.stop()
    recs = rx.records()
    up = [ln for ln in err.splitlines() if "uploads:" in ln][-1:]
    check(rc == 0 and up and " 0 rejected" in up[0], "no window rejected: %s" % up)
    check(recs and all(r["labels"].get("service_name") == "g++" for r in recs),
          "service_name g++ kept (%s)" % sorted({r["labels"].get("service_name") for r in recs}))
    check(recs and all(r["labels"].get("env") == "a_b_" for r in recs),
          "',' and '}' in a tag value replaced, not cutting the name")


def test_sighup_reload():
    """SIGHUP re-reads the config file: new labels and a new server from then on; the two
    servers' records together are every window, once, tiling the run."""
    cfg = os.path.join(TMP, "reload.yaml")
    rx1, rx2 = Receiver(), Receiver()
    conf = "server_url: %s\nlabels:\n  env: %s\nupload_interval: 1s\nspool_dir: ''\n"
    with open(cfg, "w") as f:
        f.write(conf % (rx1.url, "before"))
    try:
        # a window can outlast --upload-interval while the main loop builds a new process's
        # unwind tables: the reload waits for the first window at the first server
        a = agent(["--config", cfg, "--duration", "12s"])
        deadline = time.time() + 30
        while not rx1.records() and time.time() < deadline and a.poll() is None:
            time.sleep(0.1)
        with open(cfg, "w") as f:
            f.write(conf % (rx2.url, "after"))
        a.send_signal(signal.SIGHUP)
        rc, err = finish(a)
    finally:
        rx1.stop()
        rx2.stop()
    r1, r2 = rx1.records(), rx2.records()
    check(rc == 0 and "configuration reloaded" in err,
          "reload logged, agent exits 0 (exit %d: %s)" % (rc, err.strip()[-300:]))
    envs1 = [r["labels"].get("env") for r in r1]
    envs2 = [r["labels"].get("env") for r in r2]
    check(r1 and r2, "windows went to the first server, then to the second (%d, %d)"
          % (len(r1), len(r2)))
    check(envs1[0] == "before" and envs2[-1] == "after", "labels switch: %s then %s"
          % (envs1, envs2))
    check(max(r["time_nanos"] for r in r1) < min(r["time_nanos"] for r in r2),
          "the second server has only windows after the first's")
    check_exact_delivery(r1 + r2, err, 12)


def test_series_split_at_server_limits():
    """A window with more distinct stacks than one profile may carry (--upload-max-bytes and
    --upload-max-samples, lowered here from 1 MiB and 15000 so that seconds of samples pass
    them): the series arrives in parts, each within the limits, whose samples add up to
    every sample the agent received."""
    max_bytes, max_samples = 64 << 10, 1000
    rx = Receiver(hz=999)
    spool = os.path.join(TMP, "sp-split")
    # eight threads of deep, distinct stacks: thousands of distinct samples of ~270 bytes
    fx = subprocess.Popen([os.path.join(FIX, "manystacks"), "60", "8"],
                          stdout=subprocess.DEVNULL)
    try:
        a = subprocess.Popen([STOKER, "--pid", str(fx.pid), "--sample-rate", "999",
                              "--duration", "8s", "--upload-interval", "8s",
                              "--upload-max-bytes", "%dKiB" % (max_bytes >> 10),
                              "--upload-max-samples", str(max_samples),
                              "--server-url", rx.url, "--spool-dir", spool],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        rc, err = finish(a, timeout=120)
    finally:
        fx.kill()
        fx.wait()
        rx.stop()
    check(rc == 0, "agent exits 0 (%s)" % err.strip()[-300:])
    recs = rx.records()
    check_exact_delivery(recs, err, 8, left=spool_starts(spool))
    parts = {}
    for r in recs:
        parts.setdefault(r["time_nanos"], []).append(r)
    check(parts, "a window arrived")
    if not parts:
        return
    biggest = max(parts.values(), key=lambda ps: sum(p["total_samples"] for p in ps))
    print("    window parts: %s" % [(p["n_samples"], p["raw_size"]) for p in biggest])
    distinct = sum(p["n_samples"] for p in biggest)
    size = sum(p["raw_size"] for p in biggest)
    check(distinct > max_samples or size > max_bytes,
          "the window was over a limit (%d distinct samples, %d bytes)" % (distinct, size))
    check(len(biggest) >= 2, "the big window arrived split (%d parts)" % len(biggest))
    check(all(p["raw_size"] <= max_bytes and p["n_samples"] <= max_samples
              for r in parts.values() for p in r),
          "every part within %d KiB uncompressed and %d samples" % (max_bytes >> 10,
                                                                     max_samples))
    check(len({tuple(sorted(p["labels"].items())) for p in biggest}) == 1,
          "the parts are one series (same labels)")


def make_pki(d):
    """A CA, a server certificate for pyroscope.test and a client certificate."""
    need("openssl")
    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, cwd=d)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
        "-keyout", "ca.key", "-out", "ca.pem")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:pyroscope.test\n")
    for name, ext in (("server", ["-extfile", "san.ext"]), ("client", [])):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name, "-keyout",
            name + ".key", "-out", name + ".csr")
        run("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", name + ".pem", *ext)


def test_tls_modes():
    """TLS: a private CA with --tls-server-name, mutual TLS, refusal of an unknown CA, and the
    loudly warned --tls-insecure-skip-verify."""
    d = os.path.join(TMP, "pki")
    os.makedirs(d)
    make_pki(d)
    p = lambda n: os.path.join(d, n)  # noqa: E731
    rx = Receiver("--tls-cert", p("server.pem"), "--tls-key", p("server.key"),
                  "--tls-client-ca", p("ca.pem"))
    url = "https://127.0.0.1:%d" % rx.port
    try:
        a = agent(["--duration", "3s", "--upload-interval", "1s", "--server-url", url,
                   "--spool-dir", "", "--tls-ca-file", p("ca.pem"), "--tls-server-name",
                   "pyroscope.test", "--tls-cert-file", p("client.pem"), "--tls-key-file",
                   p("client.key")])
        rc, err = finish(a)
        n = len(rx.records())
        check(rc == 0 and n >= 2, "mutual TLS with a private CA and server name (%d): %s"
              % (n, err[-600:]))
        a = agent(["--duration", "2s", "--upload-interval", "1s", "--server-url", url,
                   "--spool-dir", "", "--tls-cert-file", p("client.pem"), "--tls-key-file",
                   p("client.key")])
        rc, err = finish(a)
        check(len(rx.records()) == n and "failed to push" in err,
              "an unknown CA is refused and retried, nothing accepted")
        a = agent(["--duration", "2s", "--upload-interval", "1s", "--server-url", url,
                   "--spool-dir", "", "--tls-insecure-skip-verify", "--tls-cert-file",
                   p("client.pem"), "--tls-key-file", p("client.key")])
        rc, err = finish(a)
        check(len(rx.records()) > n and "NOT verified" in err,
              "--tls-insecure-skip-verify works and warns loudly")
    finally:
        rx.stop()


def test_names_not_utf8_keep_every_window():
    """Nobody runs a program whose file name, comm and function name are bytes that are not
    UTF-8. A server refuses a whole request over one such string, and a batch holds every
    process's samples: they arrive with U+FFFD for the bad bytes, beside a root process's,
    in every window, and /metrics counts them."""
    need("setpriv", "objcopy")
    d = tempfile.mkdtemp(prefix="utf8-", dir=TMP)
    os.chmod(TMP, 0o755)
    os.chmod(d, 0o755)
    bad = os.path.join(d.encode(), b"bad\xff\xfe")
    r = subprocess.run([b"objcopy", b"--strip-debug", b"--redefine-sym", b"hot_a=hot_\xc0\xaf",
                        os.path.join(FIX, "shares").encode(), bad], capture_output=True)
    check(r.returncode == 0, "objcopy renamed hot_a in the symbol table, without DWARF (%s)" % r.stderr[-200:])
    os.chmod(bad, 0o755)
    rx = Receiver()
    liar = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                             "--", bad, b"30"], stdout=subprocess.DEVNULL)
    victim = fixture(30)
    port = free_port()
    try:
        a = agent(["--pid", str(liar.pid), "--pid", str(victim.pid), "--duration", "6s",
                   "--upload-interval", "2s", "--server-url", rx.url, "--spool-dir", "",
                   "--metrics-addr", "127.0.0.1:%d" % port])
        time.sleep(5)
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as m:
            metrics = m.read().decode()
        rc, err = finish(a)
    finally:
        for p in (liar, victim):
            p.kill()
            p.wait()
        rx.stop()
    check(rc == 0, "agent exits 0 (%s)" % err.strip()[-400:])
    recs = rx.records()
    check_exact_delivery(recs, err, 6)
    by_svc = {}
    for rec in recs:
        by_svc.setdefault(rec["labels"].get("service_name"), []).append(rec)
    print("    services: %s" % {k: sum(r["total_samples"] for r in v) for k, v in by_svc.items()})
    check("bad\ufffd\ufffd" in by_svc, "the liar's samples arrive, its comm with U+FFFD")
    check("shares" in by_svc and all(any(r["labels"].get("service_name") == "shares"
                                         for r in recs if r["time_nanos"] == t)
                                     for t in window_starts(by_svc.get("bad\ufffd\ufffd", []))),
          "and the root process's beside them in every window")
    liar_frames = {f for r in by_svc.get("bad\ufffd\ufffd", []) for st in r["stacks"]
                   for f in st["frames"]}
    check("hot_\ufffd\ufffd" in liar_frames, "its function's bad bytes are U+FFFD (%s)"
          % sorted(f for f in liar_frames if f.startswith("hot_")))
    m = re.search(r"^stoker_profile_strings_repaired_total (\d+)$", metrics, re.M)
    check(m and int(m.group(1)) >= 2, "/metrics counts the repaired strings (%s)"
          % (m.group(0) if m else "missing"))


TESTS = [test_push_known_workload, test_sighup_reload, test_tls_modes, test_tenant_and_auth_modes,
         test_server_down_then_back_in_order, test_retried_faults_deliver_every_window_once,
         test_backoff_schedule, test_400_not_retried, test_series_split_at_server_limits, test_sigkill_while_spooling_then_restart,
         test_spool_cap_and_corrupt_file, test_unsafe_spool_refused, test_ingest_api,
         test_ingest_service_name_outside_legacy_syntax, test_names_not_utf8_keep_every_window]


def main():
    # Whole-host runs need something on a CPU, or every window is empty (and not sent).
    background = fixture(3600)
    rc = run("push", TESTS, sys.argv[1:])
    background.kill()
    background.wait()
    shutil.rmtree(TMP, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
