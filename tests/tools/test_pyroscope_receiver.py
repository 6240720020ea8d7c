#!/usr/bin/python3
"""Tests for pyroscope_receiver.py: each rule it enforces, shown with a crafted request and
the status code the real server answers (or, where the receiver is deliberately stricter,
the code it answers instead), next to a request just inside the rule that is accepted.

Run: /usr/bin/python3 tests/tools/test_pyroscope_receiver.py   (prints "N passed, N failed")
"""

import gzip
import json
import os
import subprocess
import shutil
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pprof_check  # noqa: E402
import pyroscope_receiver  # noqa: E402

PB = pprof_check.pb2()
PUSH = pyroscope_receiver.push_pb2()
RECEIVER = os.path.join(HERE, "pyroscope_receiver.py")
HZ = 99
PERIOD = 1000000000 // HZ
TMP = tempfile.mkdtemp(prefix="stoker-rx-test-")


def profile(period=PERIOD, time_nanos=None, sample_labels=(), counts=(3,), big=0):
    """A small valid CPU profile; sample_labels is [(key, value)] put on every sample."""
    p = PB.Profile()
    strings = {}

    def s(text):
        if text not in strings:
            strings[text] = len(p.string_table)
            p.string_table.append(text)
        return strings[text]

    s("")
    p.sample_type.add(type=s("cpu"), unit=s("nanoseconds"))
    p.period_type.type = s("cpu")
    p.period_type.unit = s("nanoseconds")
    p.period = period
    p.time_nanos = time.time_ns() if time_nanos is None else time_nanos
    p.duration_nanos = 10 ** 9
    p.function.add(id=1, name=s("main"), system_name=s("main"))
    p.function.add(id=2, name=s("work"), system_name=s("work"))
    p.location.add(id=1, line=[PB.Line(function_id=1)])
    p.location.add(id=2, line=[PB.Line(function_id=2)])
    for c in counts:
        smp = p.sample.add(location_id=[2, 1], value=[c * period])
        for k, v in sample_labels:
            smp.label.add(key=s(k), str=s(v))
    if big:  # an unused string only makes the profile larger
        p.string_table.append("x" * big)
    return p.SerializeToString()


BASE = [("__name__", "process_cpu"), ("service_name", "svc")]


def push_body(labels=BASE, raw=None, gz=True):
    raw = profile() if raw is None else raw
    req = PUSH.PushRequest()
    s = req.series.add()
    for n, v in labels:
        s.labels.add(name=n, value=v)
    s.samples.add(raw_profile=gzip.compress(raw) if gz else raw)
    return req.SerializeToString()


class Receiver:
    def __init__(self, *args):
        self.record = os.path.join(TMP, "rec-%d.jsonl" % time.monotonic_ns())
        self.p = subprocess.Popen([sys.executable, RECEIVER, "--port", "0", "--record",
                                   self.record, "--cpu-hz", str(HZ)] + list(args),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError("receiver did not start: %r %s" % (line, self.p.stderr.read()))
        self.url = "http://127.0.0.1:%d" % int(line.split()[-1])

    def post(self, path, body, ctype="application/proto"):
        req = urllib.request.Request(self.url + path, data=body, method="POST",
                                     headers={"Content-Type": ctype})
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def push(self, labels=BASE, raw=None, gz=True):
        return self.post("/push.v1.PusherService/Push", push_body(labels, raw, gz))

    def ingest(self, name="svc{env=x}", raw=None, frm=None, rate=HZ, extra=""):
        frm = int(time.time()) if frm is None else frm
        q = "name=%s&from=%d&until=%d&sampleRate=%d&spyName=stoker&format=pprof%s" % (
            urllib.parse.quote(name), frm, frm + 1, rate, extra)
        return self.post("/ingest?" + q, gzip.compress(profile() if raw is None else raw),
                         "application/octet-stream")

    def records(self):
        if not os.path.exists(self.record):
            return []
        with open(self.record) as f:
            return [json.loads(ln) for ln in f if ln.strip()]

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=10)


RX = None


def setUpModule():
    global RX
    RX = Receiver()


def tearDownModule():
    RX.stop()


class Case(unittest.TestCase):
    def expect(self, got, code, what=""):
        """got is (status, body); a rejection must also leave no record behind."""
        before = len(RX.records())
        self.assertEqual(got[0], code, "%s: %s" % (what, got[1]))
        # the receiver's catch-all for its own exceptions must not pass for a rule
        self.assertNotIn("bad request:", got[1])
        if code != 200:
            self.assertEqual(len(RX.records()), before, "a rejected request was recorded")


class TestPush(Case):
    def test_valid_push_recorded(self):
        n = len(RX.records())
        self.expect(RX.push(BASE + [("env", "test")]), 200)
        self.expect(RX.push(raw=profile(), gz=False), 200, "an uncompressed profile")
        recs = RX.records()[n:]
        self.assertEqual(len(recs), 2)
        self.assertEqual(recs[0]["labels"], {"__name__": "process_cpu", "service_name": "svc",
                                             "env": "test"})
        self.assertEqual(recs[0]["total_samples"], 3)

    def test_service_name(self):
        self.expect(RX.push([("__name__", "process_cpu")]), 400, "no service_name")
        self.expect(RX.push([("__name__", "process_cpu"), ("service_name", "")]), 400,
                    "empty service_name")

    def test_service_name_filled_like_the_server(self):
        rx = Receiver("--fill-service-name")
        try:
            code, body = rx.push([("__name__", "process_cpu")])
            self.assertEqual(code, 200, body)
            self.assertEqual(rx.records()[0]["labels"]["service_name"], "unknown_service")
            code, body = rx.push([("__name__", "process_cpu"), ("service_name", "")])
            self.assertEqual(code, 400, "an empty service_name is dropped, then missing")
        finally:
            rx.stop()

    def test_metric_name(self):
        self.expect(RX.push([("service_name", "svc")]), 400, "no __name__")
        self.expect(RX.push([("__name__", "process-cpu"), ("service_name", "svc")]), 400)

    def test_label_value_length_in_bytes(self):
        # 683 three-byte characters: fewer than 2048 characters, 2049 bytes
        self.expect(RX.push(BASE + [("v", "\u20ac" * 683)]), 400, "2049 bytes")
        self.expect(RX.push(BASE + [("v", "\u20ac" * 682)]), 200, "2046 bytes")
        self.expect(RX.push(BASE + [("v", "a" * 2048)]), 200, "2048 bytes")

    def test_label_name_length(self):
        self.expect(RX.push(BASE + [("a" * 1025, "x")]), 400, "1025-byte name")
        self.expect(RX.push(BASE + [("a" * 1024, "x")]), 200, "1024-byte name")

    def test_label_names_rejected_or_rewritten(self):
        for name in ("env.name", "a-b", "1abc", "caf\u00e9", ""):
            self.expect(RX.push(BASE + [(name, "x")]), 400, "label name %r" % name)
        self.expect(RX.push(BASE + [("_a1", "x")]), 200)

    def test_internal_label_names(self):
        self.expect(RX.push(BASE + [("__meta_process_pid", "1")]), 400, "series label")
        self.expect(RX.push(raw=profile(sample_labels=[("__meta_cgroup_path", "/x")])), 400,
                    "sample label")
        self.expect(RX.ingest("svc{__session_id__=1}"), 422, "/ingest would drop it")

    def test_duplicate_label(self):
        self.expect(RX.push(BASE + [("env", "a"), ("env", "b")]), 400, "same name twice")
        self.expect(RX.push(BASE + [("env", "a"), ("env", "a")]), 400, "same pair twice")

    def test_empty_value(self):
        self.expect(RX.push(BASE + [("env", "")]), 400, "stricter than the server")

    def test_label_count(self):
        thirty = BASE + [("l%d" % i, "x") for i in range(28)]
        self.expect(RX.push(thirty), 200, "30 labels")
        self.expect(RX.push(thirty + [("l28", "x")]), 400, "31 labels")

    def test_old_timestamp(self):
        now = time.time_ns()
        self.expect(RX.push(raw=profile(time_nanos=now - 3601 * 10 ** 9)), 400, "61 min old")
        self.expect(RX.push(raw=profile(time_nanos=now - 3590 * 10 ** 9)), 200, "59 min old")

    def test_future_timestamp(self):
        now = time.time_ns()
        self.expect(RX.push(raw=profile(time_nanos=now + 601 * 10 ** 9)), 400, "10 min ahead")
        self.expect(RX.push(raw=profile(time_nanos=now + 590 * 10 ** 9)), 200, "9 min ahead")

    def test_zero_time_allowed_negative_not(self):
        self.expect(RX.push(raw=profile(time_nanos=0)), 200, "time_nanos 0 means now")
        self.expect(RX.push(raw=profile(time_nanos=-1)), 400, "negative time")

    def test_configured_window(self):
        rx = Receiver("--reject-older-than", "30")
        try:
            code, _ = rx.push(raw=profile(time_nanos=time.time_ns() - 31 * 10 ** 9))
            self.assertEqual(code, 400, "31 s old with a 30 s window")
            code, _ = rx.push(raw=profile(time_nanos=time.time_ns() - 20 * 10 ** 9))
            self.assertEqual(code, 200, "20 s old with a 30 s window")
        finally:
            rx.stop()

    def test_period_from_cpu_hz_not_from_profile(self):
        # a self-consistent 100 Hz profile is still wrong for an agent started at 99 Hz
        self.expect(RX.push(raw=profile(period=10 ** 9 // 100)), 400, "100 Hz period")
        self.expect(RX.push(raw=profile(period=PERIOD + 1)), 400, "period off by one")

    def test_sample_labels_validated(self):
        ok = profile(sample_labels=[("span_name", "GET /"), ("span_id", "0123456789abcdef")])
        self.expect(RX.push(raw=ok), 200, "span_name and span_id")
        self.expect(RX.push(raw=profile(sample_labels=[("thread.name", "x")])), 400,
                    "dotted sample label")
        self.expect(RX.push(raw=profile(sample_labels=[("span_name", "\u20ac" * 683)])), 400,
                    "2049-byte sample label value")
        many = [("s%d" % i, "x") for i in range(28)]
        self.expect(RX.push(raw=profile(sample_labels=many)), 200,
                    "28 sample labels + 2 series labels = 30")
        self.expect(RX.push(raw=profile(sample_labels=many[:27] + [("trace_id", "a" * 32)])),
                    200, "29 series labels: trace_id never joins them")
        self.expect(RX.push(BASE + [("env", "x")], raw=profile(sample_labels=many)), 400,
                    "31 labels once sample labels join the series")

    def test_sample_label_does_not_override_series_label(self):
        raw = profile(sample_labels=[("service_name", "\u20ac" * 683)])
        self.expect(RX.push(raw=raw), 200, "series service_name wins over the sample's")

    def test_size_limits(self):
        self.expect(RX.push(raw=profile(big=3 << 20)), 429, "3 MiB is over the 2 MiB burst")
        self.expect(RX.push(raw=profile(big=5 << 20)), 400, "5 MiB is over max profile size")

    def test_malformed(self):
        self.expect(RX.post("/push.v1.PusherService/Push", push_body(), "application/json"),
                    415, "content type")
        self.expect(RX.post("/push.v1.PusherService/Push", PUSH.PushRequest().SerializeToString()),
                    400, "no series")
        self.expect(RX.push(raw=b"\x0a\xff"), 400, "not a pprof")


class TestConnection(Case):
    def test_kept_alive_after_early_rejection(self):
        """A request rejected before its body is read leaves the connection usable, as
        the server's does (curl reused it and read a body as a reply: HTTP/0.9)."""
        import http.client
        c = http.client.HTTPConnection(RX.url[len("http://"):], timeout=20)
        try:
            q = "/ingest?name=g%2B%2B&from=1&until=2&sampleRate=99&format=pprof"
            c.request("POST", q, body=b"x" * 5000, headers={"Content-Type": "a/b"})
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 400)
            c.request("POST", "/push.v1.PusherService/Push", body=push_body(),
                      headers={"Content-Type": "application/proto"})
            r = c.getresponse()
            self.assertEqual(r.status, 200, r.read())
        finally:
            c.close()

    def test_stats_name_rejections(self):
        RX.push([("__name__", "process_cpu")])
        with urllib.request.urlopen(RX.url + "/__stats", timeout=10) as r:
            stats = json.loads(r.read())
        self.assertIn("service_name missing", stats["last_rejections"][-1])


class TestIngest(Case):
    def test_valid_ingest_recorded(self):
        n = len(RX.records())
        self.expect(RX.ingest("svc{env=x,region=eu}"), 200)
        rec = RX.records()[n]
        self.assertEqual(rec["api"], "ingest")
        self.assertEqual(rec["labels"]["service_name"], "svc")
        self.assertEqual(rec["labels"]["env"], "x")
        self.assertEqual(rec["labels"]["region"], "eu")
        self.assertEqual(rec["labels"]["__name__"], "process_cpu")

    def test_sample_rate_is_checked_not_trusted(self):
        self.expect(RX.ingest(rate=100), 400, "sampleRate is not the agent's rate")
        self.expect(RX.ingest(raw=profile(period=10 ** 9 // 100), rate=HZ), 422,
                    "a 100 Hz profile with sampleRate=99")

    def test_bad_name(self):
        self.expect(RX.ingest("{env=x}"), 400, "no app name")
        self.expect(RX.ingest("g++{env=x}"), 400, "'+' in the app name")
        self.expect(RX.ingest("svc{__name__=x}"), 400, "reserved tag key")
        self.expect(RX.ingest("svc{a-b=x}"), 400, "'-' in a tag key")

    def test_dotted_tag_is_a_label_error(self):
        # labelset allows dots in keys; the push behind it (ValidateLabels) is 422 here
        self.expect(RX.ingest("svc{env.x=1}"), 422)

    def test_old_from_and_profile_time(self):
        old = int(time.time()) - 3700
        self.expect(RX.ingest(raw=profile(time_nanos=old * 10 ** 9)), 422, "old time_nanos")
        self.expect(RX.ingest(raw=profile(time_nanos=0), frm=old), 422,
                    "time_nanos 0 takes `from`, which is old")
        self.expect(RX.ingest(raw=profile(time_nanos=0)), 200, "time_nanos 0, `from` now")

    def test_format_required(self):
        raw = gzip.compress(profile())
        q = "name=svc&from=%d&until=%d&sampleRate=%d" % (time.time(), time.time() + 1, HZ)
        self.expect(RX.post("/ingest?" + q, raw, "application/octet-stream"), 400)


class TestFaults(unittest.TestCase):
    """The injected faults the delivery tests rely on: each happens exactly as many times as
    asked, then the receiver accepts again; every profile request is in the attempt log."""

    def setUp(self):
        self.rx = Receiver()

    def tearDown(self):
        self.rx.stop()

    def control(self, **mode):
        return self.rx.post("/__control", json.dumps(mode).encode(), "application/json")

    def attempts(self):
        with urllib.request.urlopen(self.rx.url + "/__stats", timeout=5) as r:
            return json.loads(r.read())["attempts"]

    def test_counted_status_with_retry_after(self):
        self.control(mode="status", code=429, count=2, retry_after=3)
        for _ in range(2):
            req = urllib.request.Request(self.rx.url + "/push.v1.PusherService/Push",
                                         data=push_body(), method="POST",
                                         headers={"Content-Type": "application/proto"})
            with self.assertRaises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(req, timeout=5)
            self.assertEqual(e.exception.code, 429)
            self.assertEqual(e.exception.headers.get("Retry-After"), "3")
        self.assertEqual(self.rx.push()[0], 200, "accepted after the counted faults")
        self.assertEqual([a["outcome"] for a in self.attempts()], ["429", "429", "200"])
        self.assertEqual(len(self.rx.records()), 1)

    def test_status_without_retry_after(self):
        self.control(mode="status", code=408, count=1)
        req = urllib.request.Request(self.rx.url + "/push.v1.PusherService/Push",
                                     data=push_body(), method="POST",
                                     headers={"Content-Type": "application/proto"})
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=5)
        self.assertEqual(e.exception.code, 408)
        self.assertIsNone(e.exception.headers.get("Retry-After"))

    def test_counted_hang_stalls_then_closes(self):
        self.control(mode="hang", count=1, seconds=1.5)
        t0 = time.time()
        with self.assertRaises(Exception):
            self.rx.push()
        self.assertGreaterEqual(time.time() - t0, 1.4, "stalled for the asked time")
        self.assertEqual(self.rx.push()[0], 200)
        self.assertEqual([a["outcome"] for a in self.attempts()], ["hang", "200"])
        self.assertEqual(len(self.rx.records()), 1, "the stalled request was not recorded")

    def test_counted_reset(self):
        self.control(mode="close_mid_body", count=1)
        with self.assertRaises(Exception):
            self.rx.push(raw=profile(big=100000))
        self.assertEqual(self.rx.push()[0], 200)
        self.assertEqual([a["outcome"] for a in self.attempts()], ["close_mid_body", "200"])
        self.assertEqual(len(self.rx.records()), 1)


def _main():
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    res = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses) + \
        len(res.skipped)  # nothing here may be skipped
    passed = res.testsRun - failed
    print("%d passed, %d failed" % (passed, failed))
    shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed or not res.testsRun else 0


if __name__ == "__main__":
    sys.exit(_main())
