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

from harness import FIX, STOKER, TOOLS, Failure, check, need, run  # noqa: E402,F401

RECEIVER = os.path.join(TOOLS, "pyroscope_receiver.py")
TMP = tempfile.mkdtemp(prefix="stoker-push-")


class Receiver:
    def __init__(self, *args):
        self.record = os.path.join(TMP, "rec-%d.jsonl" % time.monotonic_ns())
        self.p = subprocess.Popen(["/usr/bin/python3", RECEIVER, "--port", "0", "--record",
                                   self.record, "--cpu-hz", "99"] + list(args),
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


def agent(args, **kw):
    return subprocess.Popen([STOKER, "--sample-rate", "99"] + args, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def finish(a, timeout=60):
    out, err = a.communicate(timeout=timeout)
    return a.returncode, err


def fixture(seconds=60):
    return subprocess.Popen([os.path.join(FIX, "shares"), str(seconds)],
                            stdout=subprocess.DEVNULL)


def window_starts(recs):
    return sorted({r["time_nanos"] for r in recs})


def test_push_known_workload():
    """Pushes of a known workload: valid requests, right labels, totals match the agent."""
    rx = Receiver()
    fx = fixture()
    try:
        a = agent(["--pid", str(fx.pid), "--duration", "7s", "--upload-interval", "2s",
                   "--server-url", rx.url, "--label", "env=test", "--spool-dir", ""])
        rc, err = finish(a)
    finally:
        fx.kill()
        fx.wait()
        rx.stop()
    check(rc == 0, "agent exits 0 (%s)" % err.strip()[-400:])
    recs = rx.records()
    check(len(window_starts(recs)) >= 3, "at least 3 windows pushed (%d)" % len(recs))
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
    print("    total=%d hot=%s" % (total, hot))
    recv = int(re.search(r"(\d+) received", err).group(1))
    check(total == recv and total >= 200,
          "every sample the agent received arrived at the server (%d of %d)" % (total, recv))
    check(abs(hot["hot_a"] / total - 0.6) <= 0.05, "hot_a share within 5 points of 60%")
    m = [ln for ln in err.splitlines() if "uploads:" in ln]
    check(m and " 0 rejected" in m[-1] and " 0 dropped" in m[-1], "no window lost: %s" % m)


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
    for rx_args, agent_args in cases:
        rx = Receiver(*rx_args)
        try:
            a = agent(["--duration", "3s", "--upload-interval", "1s", "--server-url", rx.url,
                       "--spool-dir", ""] + agent_args)
            rc, err = finish(a)
        finally:
            rx.stop()
        recs = rx.records()
        check(rc == 0 and len(recs) >= 2, "%s accepted (%d profiles)" % (rx_args[0], len(recs)))
        check("s3cret" not in err and "tok-123" not in err, "secrets never logged")
    # wrong credentials are rejected (401) and counted, not retried forever
    rx = Receiver("--basic-auth", "alice:other")
    try:
        a = agent(["--duration", "3s", "--upload-interval", "1s", "--server-url", rx.url,
                   "--spool-dir", "", "--basic-auth-user", "alice",
                   "--basic-auth-password-file", pw])
        rc, err = finish(a)
    finally:
        rx.stop()
    check(rc == 0 and "rejected" in err and "401" in err, "401 logged as rejected")


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
    recs = rx.records()
    starts = [r["time_nanos"] for r in recs]
    check(rc == 0, "agent exits 0")
    check(len(starts) >= 8, "all windows delivered after the outage (%d)" % len(starts))
    check(starts == sorted(starts), "windows arrived in order")
    check(len(set(starts)) == len(starts), "no window arrived twice")


def test_retry_503_429_and_400_not_retried():
    """503 and 429 are retried until accepted; a 400 is dropped once and counted."""
    rx = Receiver()
    try:
        rx.control(mode="status", code=503, count=2)
        a = agent(["--duration", "4s", "--upload-interval", "1s", "--server-url", rx.url,
                   "--spool-dir", ""])
        rc, err = finish(a)
        recs = rx.records()
        check(rc == 0 and len(recs) >= 3, "windows delivered after two 503s (%d)" % len(recs))
        rx.control(mode="status", code=400, count=1)
        a = agent(["--duration", "3s", "--upload-interval", "1s", "--server-url", rx.url,
                   "--spool-dir", ""])
        rc, err = finish(a)
        check(rc == 0 and "HTTP 400" in err and " 1 rejected" in err,
              "400 logged and counted as rejected, not retried")
    finally:
        rx.stop()


def test_hang_past_timeout_then_recover():
    """A server that hangs past --upload-timeout is retried; nothing is lost."""
    rx = Receiver()
    try:
        rx.control(mode="hang")
        a = agent(["--duration", "6s", "--upload-interval", "1s", "--upload-timeout", "1s",
                   "--server-url", rx.url, "--spool-dir", ""])
        time.sleep(3)
        rx.control(mode="ok")
        rc, err = finish(a)
    finally:
        rx.stop()
    starts = [r["time_nanos"] for r in rx.records()]
    check(rc == 0 and len(set(starts)) >= 5, "windows delivered after the hang (%d)" % len(starts))


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
    starts = [r["time_nanos"] for r in rx.records()]
    left = [f for f in os.listdir(spool) if f.endswith(".spool")]
    check(rc == 0 and len(starts) >= len(spooled) + 2, "spooled and new windows arrived (%d)"
          % len(starts))
    check(starts == sorted(starts), "replayed in order, before newer windows")
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
    """SIGHUP re-reads the config file: new labels from then on, no window lost."""
    cfg = os.path.join(TMP, "reload.yaml")
    with open(cfg, "w") as f:
        f.write("labels:\n  env: before\nupload_interval: 1s\nspool_dir: ''\n")
    rx = Receiver()
    try:
        a = agent(["--config", cfg, "--duration", "7s", "--server-url", rx.url])
        time.sleep(3)
        with open(cfg, "w") as f:
            f.write("labels:\n  env: after\nupload_interval: 1s\nspool_dir: ''\n")
        a.send_signal(signal.SIGHUP)
        rc, err = finish(a)
    finally:
        rx.stop()
    envs = [r["labels"].get("env") for r in rx.records()]
    check(rc == 0 and "configuration reloaded" in err,
          "reload logged, agent exits 0 (exit %d: %s)" % (rc, err.strip()[-300:]))
    check(envs and envs[0] == "before" and envs[-1] == "after", "labels switch: %s" % envs)
    up = [ln for ln in err.splitlines() if "uploads:" in ln][-1]
    closed = int(re.search(r"(\d+) windows closed", up).group(1))
    check(" %d delivered" % closed in up and " 0 rejected" in up,
          "every window delivered across the reload: " + up)


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


TESTS = [test_push_known_workload, test_sighup_reload, test_tls_modes, test_tenant_and_auth_modes,
         test_server_down_then_back_in_order, test_retry_503_429_and_400_not_retried,
         test_hang_past_timeout_then_recover, test_sigkill_while_spooling_then_restart,
         test_spool_cap_and_corrupt_file, test_unsafe_spool_refused, test_ingest_api,
         test_ingest_service_name_outside_legacy_syntax]


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
