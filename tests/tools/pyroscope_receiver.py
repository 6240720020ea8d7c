#!/usr/bin/python3
"""A strict fake Pyroscope server for stoker's end-to-end tests.

It decodes what it receives with Python's protobuf runtime (not the agent's code), checks
what the real server checks, records every accepted profile as one JSON line, and injects
faults on demand: refuse connections, answer a status code N times, hang, close
mid-request, answer garbage. Modes change at start (flags) or at run time:
POST /__control {"mode": ..., "count": N, "retry_after": S, "seconds": S}; with a count, the
mode goes back to ok after N requests met the fault. /__stats lists every profile request's
arrival time and outcome ("attempts"), so tests can check retry timing and count faults.

The rules are grafana/pyroscope's, cited beside each check: pkg/distributor/distributor.go
(Push, pushSeries, rateLimit), pkg/validation/validate.go (ValidateLabels, ValidateProfile),
pkg/model/pprofsplit/pprof_split.go (VisitSampleSeries: sample labels join the series
labels), pkg/ingester/pyroscope/ingest_handler.go and pkg/og/convert/pprof/profile.go (the
legacy /ingest), api/model/labelset (its name{k=v} syntax), pkg/validation/limits.go (the
default limits). Where this receiver is stricter than the server, the comment says so and
why: a request the server would store under a name nobody looks for is a bug of the agent.
A request is accepted or rejected whole (the server may store the valid series of a
rejected request; the agent drops or retries it whole, so the tests want it whole too).

The expected CPU period comes from --cpu-hz (required), never from the request: a profile
whose period does not match the rate the agent was started with is rejected.

Usage: pyroscope_receiver.py --port 0 --record FILE --cpu-hz HZ [--require-tenant]
       [--basic-auth USER:PASS] [--bearer-token TOKEN] [--require-header 'Name: value']
       [--reject-older-than S] [--reject-newer-than S] [--fill-service-name]
       [--mode MODE [--code N] [--count N] [--retry-after S] [--seconds S]]
Prints "listening on PORT" first.
"""
import argparse
import base64
import gzip
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pprof_check  # noqa: E402

METRIC_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
# Label names every server version shows as sent: older releases reject anything else,
# 1.x rewrites dots to underscores (validate.go SanitizeLegacyLabelName, which can turn two
# names into a duplicate), 2.x stores other UTF-8 names as sent but hides them from readers
# without the allow-utf8-labelnames capability (limits.go validation.disable-label-sanitization).
LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
TENANT_RE = re.compile(r"^[0-9a-zA-Z!\-_.*'()]{1,150}$")
# api/model/labelset/validate.go: IsServiceNameRuneAllowed, IsLabelNameRuneAllowed
INGEST_APP_RE = re.compile(r"^[A-Za-z0-9_./-]+$")
TAG_KEY_RE = re.compile(r"^[A-Za-z0-9_.]+$")

# pkg/validation/limits.go defaults
MAX_LABEL_NAMES_PER_SERIES = 30      # validation.max-label-names-per-series
MAX_LABEL_NAME_BYTES = 1024          # validation.max-length-label-name
MAX_LABEL_VALUE_BYTES = 2048         # validation.max-length-label-value
INGESTION_RATE_BYTES = 4 * 1048576   # distributor.ingestion-rate-limit-mb
INGESTION_BURST_BYTES = 2 * 1048576  # distributor.ingestion-burst-size-mb
REJECT_OLDER_THAN_S = 3600           # validation.reject-older-than 1h
REJECT_NEWER_THAN_S = 600            # validation.reject-newer-than 10m
# pprof_split.go: samples are grouped without these; they never become series labels
# (pprof.RenameLabel turns profile_id into span_id first).
NOT_SERIES_LABELS = ("span_id", "trace_id", "profile_id")


def push_pb2():
    """Generates push_pb2 from proto/push.proto the way pprof_check does for profile_pb2."""
    pprof_check.pb2()  # makes sure the cache exists and protoc works
    cache = pprof_check._cache_dir()
    proto_dir = os.path.join(pprof_check.REPO, "proto")
    out = os.path.join(cache, "push_pb2.py")
    src = os.path.join(proto_dir, "push.proto")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        import subprocess
        tmp = cache + "/tmp-push-%d" % os.getpid()
        os.makedirs(tmp, exist_ok=True)
        subprocess.run(["protoc", "--python_out=" + tmp, "-I" + proto_dir, src], check=True)
        os.replace(os.path.join(tmp, "push_pb2.py"), out)
        os.rmdir(tmp)
    if cache not in sys.path:
        sys.path.insert(0, cache)
    import push_pb2 as m  # noqa: E402
    return m


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.mode = args.mode
        self.code = args.code
        self.count = args.count
        self.retry_after = args.retry_after
        self.seconds = args.seconds
        self.stats = {"requests": 0, "accepted": 0, "profiles": 0, "rejected_by_code": {},
                      "last_rejections": [], "attempts": []}
        self.record = args.record
        self.server = None
        self.port = args.port
        self.conns = set()  # open client connections: a refusal cuts kept-alive ones too
        self.buckets = {}  # tenant -> [tokens, last refill time] for rate_limit()

    def take_fault(self):
        """The fault for this request as (mode, code, retry_after, seconds), consuming one
        of a counted fault (any mode but refuse)."""
        with self.lock:
            mode = self.mode
            fault = (mode, self.code, self.retry_after, self.seconds)
            if mode not in ("ok", "refuse") and self.count is not None:
                self.count -= 1
                if self.count <= 0:
                    self.mode = "ok"
            return fault

    def note_attempt(self, path, outcome):
        """One profile request: when it arrived (wall clock, s) and what it met."""
        with self.lock:
            self.stats["attempts"] = (self.stats["attempts"] +
                                      [{"t": time.time(), "path": path.split("?")[0],
                                        "outcome": outcome}])[-2000:]

    def rate_limit(self, tenant, cost):
        """distributor.go rateLimit: a token bucket per tenant, 4 MiB/s with a 2 MiB burst,
        charged the uncompressed profile plus its labels (labelsSize); over it is 429.
        A single profile above the burst never passes (x/time/rate AllowN)."""
        with self.lock:
            now = time.monotonic()
            tokens, last = self.buckets.get(tenant, (INGESTION_BURST_BYTES, now))
            tokens = min(INGESTION_BURST_BYTES, tokens + (now - last) * INGESTION_RATE_BYTES)
            ok = cost <= tokens
            self.buckets[tenant] = (tokens - cost if ok else tokens, now)
        if not ok:
            raise Reject(429, "push rate limit (4 MiB/s, burst 2 MiB) exceeded while adding "
                         "%d bytes" % cost, "resource_exhausted")

    def note_rejection(self, code, msg):
        """The last few rejections, in /__stats: what a failing test wants to know."""
        with self.lock:
            self.stats["last_rejections"] = (self.stats["last_rejections"] +
                                             ["%d %s" % (code, msg[:300])])[-10:]

    def count_status(self, code):
        with self.lock:
            self.stats["requests"] += 1
            if code == 200:
                self.stats["accepted"] += 1
            else:
                k = str(code)
                self.stats["rejected_by_code"][k] = self.stats["rejected_by_code"].get(k, 0) + 1

    def write_records(self, recs):
        with self.lock:
            self.stats["profiles"] += len(recs)
            # the request they came in: a retry of a request whose answer never reached the
            # client (its connection cut by a flap) sends the same profiles again
            self.next_req = getattr(self, "next_req", 0) + 1
            for r in recs:
                r["req"] = self.next_req
            if self.record:
                with open(self.record, "a") as f:
                    for r in recs:
                        f.write(json.dumps(r) + "\n")


class Reject(Exception):
    def __init__(self, code, msg, connect_code="invalid_argument"):
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.connect_code = connect_code


def decode_profile(raw):
    """The pprof of one sample, gzipped or not (its .raw_size is the uncompressed size).
    distributor.go Push: pprof.RawFromBytesWithLimit, over max-profile-size-bytes (4 MiB
    uncompressed) or undecodable is 400."""
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except Exception as e:
            raise Reject(400, "bad gzip in profile: %s" % e)
    if len(raw) > pprof_check.MAX_SIZE:
        raise Reject(400, "uncompressed profile payload size exceeds limit of 4 MiB: %d bytes"
                     % len(raw))
    try:
        prof = pprof_check.load_bytes(raw)
    except Exception as e:
        raise Reject(400, "cannot decode pprof: %s" % e)
    return prof


def validate_profile(prof, args, now_ns):
    """validate.go ValidateProfile, plus the CPU shape the agent promised (--cpu-hz)."""
    t = prof.pb.time_nanos
    # ValidateProfile: a time_nanos > 0 must fall strictly inside (now - RejectOlderThan,
    # now + RejectNewerThan), compared in milliseconds (model.TimeFromUnixNano); 0 means
    # "now". A negative time is also "now" to the server; stoker never means that, so
    # this receiver rejects it.
    if t < 0:
        raise Reject(400, "time_nanos %d is negative" % t)
    if t > 0:
        t_ms, now_ms = t // 1000000, now_ns // 1000000
        if args.reject_older_than and not t_ms > now_ms - args.reject_older_than * 1000:
            raise Reject(400, "profile is outside of ingestion window (profile timestamp: "
                         "%d ms, %d s before now; reject-older-than %d s)"
                         % (t_ms, (now_ms - t_ms) // 1000, args.reject_older_than))
        if args.reject_newer_than and not t_ms < now_ms + args.reject_newer_than * 1000:
            raise Reject(400, "profile is outside of ingestion window (profile timestamp: "
                         "%d ms, %d s after now; reject-newer-than %d s)"
                         % (t_ms, (t_ms - now_ms) // 1000, args.reject_newer_than))
    # Stricter than the server, which ignores it: stoker always knows its window's length.
    if prof.pb.duration_nanos <= 0:
        raise Reject(400, "duration_nanos %d must be > 0" % prof.pb.duration_nanos)
    # pprof_check.validate covers the rest of ValidateProfile (sample type present and
    # without '-', samples <= 16000, labels per sample <= 100, non-zero location and
    # function ids, one value per sample type, string 0 empty, indexes in range, UTF-8)
    # and the CPU shape: [cpu/nanoseconds], period 1e9 // --cpu-hz, values multiples of it.
    problems = pprof_check.validate(prof, allow_zero_time=True, cpu_hz=args.cpu_hz)
    if problems:
        raise Reject(400, "invalid profile: " + "; ".join(problems[:5]))


def validate_labels(pairs):
    """validate.go ValidateLabels over one label set (series labels, or series labels
    joined with a sample's labels). Lengths are Go's len(): bytes of UTF-8, not characters."""
    if not pairs:
        raise Reject(400, "error at least one label pair is required per profile")
    if len(pairs) > MAX_LABEL_NAMES_PER_SERIES:
        raise Reject(400, "profile series has %d label names; limit %d"
                     % (len(pairs), MAX_LABEL_NAMES_PER_SERIES))
    d = dict(pairs)
    # ValidateLabels: __name__ must be a valid metric name (2.x accepts any UTF-8; the
    # classic metric-name syntax is kept here since stoker only ever sends process_cpu).
    if not METRIC_RE.match(d.get("__name__", "")):
        raise Reject(400, "invalid labels: invalid metric name %r" % d.get("__name__"))
    # ValidateLabels: isValidServiceName, service_name must be non-empty.
    if not d.get("service_name"):
        raise Reject(400, "invalid labels: service name is not provided")
    seen = set()
    for name, value in sorted(pairs):
        if len(name.encode()) > MAX_LABEL_NAME_BYTES:
            raise Reject(400, "label name too long: %d bytes > %d"
                         % (len(name.encode()), MAX_LABEL_NAME_BYTES))
        if len(value.encode()) > MAX_LABEL_VALUE_BYTES:
            raise Reject(400, "label %r value too long: %d bytes > %d"
                         % (name, len(value.encode()), MAX_LABEL_VALUE_BYTES))
        if not LABEL_RE.match(name):
            raise Reject(400, "invalid label name %r (server rejects, renames or hides it)"
                         % name)
        # ValidateLabels compares sorted neighbours: a repeated name is 400.
        if name in seen:
            raise Reject(400, "duplicate label name %r" % name)
        seen.add(name)
    return d


def sample_label_sets(prof):
    """The distinct sets of sample labels that become series labels.
    pprof_split.go VisitSampleSeries/addSampleLabelsToLabelsBuilder: numeric and empty
    labels are skipped, span_id/trace_id (and profile_id) never join, and the first
    occurrence of a key in a sample wins."""
    pb = prof.pb
    st = pb.string_table
    out = set()
    for smp in pb.sample:
        got = {}
        for lb in smp.label:
            if lb.str <= 0 or not 0 <= lb.key < len(st) or lb.str >= len(st):
                continue
            k = st[lb.key]
            if k in NOT_SERIES_LABELS or k in got or not st[lb.str]:
                continue
            got[k] = st[lb.str]
        if got:
            out.add(tuple(sorted(got.items())))
    return out


def check_private(names, allowed=("__name__",)):
    """Stricter than the server: a name starting with "__" is an internal label (the
    server's own __delta__, __session_id__, ...); Grafana's writer drops such labels and
    /ingest drops such tags (IsLabelAllowedForIngestion), so one from stoker is a leak
    (relabeling's __meta_* inputs) or a label nobody will see."""
    for n in names:
        if n.startswith("__") and n not in allowed:
            raise Reject(400, "internal label name %r from the client" % n)


def check_series(state, tenant, pairs, prof, now_ns):
    """One series the way pushSeries handles it: rate limit, ValidateProfile, then
    ValidateLabels on every label set the samples produce. Returns the series labels."""
    cost = prof.raw_size + sum(len(n.encode()) + len(v.encode()) for n, v in pairs)
    state.rate_limit(tenant or "", cost)
    validate_profile(prof, state.args, now_ns)
    labels = validate_labels(pairs)
    for extra in sample_label_sets(prof):
        check_private(k for k, _ in extra)
        # series labels take precedence over sample labels of the same name
        validate_labels(pairs + [(k, v) for k, v in extra if k not in labels])
    return labels


def record_of(api, labels, prof, tenant, headers, sample_id=""):
    stacks = pprof_check.stacks(prof)
    period = prof.pb.period or 1
    return {
        "ts": time.time(), "api": api, "tenant": tenant,
        "headers": {"authorization": "authorization" in headers,
                    "user-agent": headers.get("user-agent", "")},
        "labels": labels, "time_nanos": prof.pb.time_nanos,
        "duration_nanos": prof.pb.duration_nanos, "period": period,
        "total_samples": sum(s["value"] for s in stacks) // period,
        "n_samples": len(prof.pb.sample), "id": sample_id, "raw_size": prof.raw_size,
        "stacks": [{"frames": s["frames"], "count": s["count"], "labels": s["labels"]}
                   for s in stacks],
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def setup(self):
        super().setup()
        with self.state.lock:
            self.state.conns.add(self.connection)

    def finish(self):
        with self.state.lock:
            self.state.conns.discard(self.connection)
        super().finish()

    def log_message(self, fmt, *a):
        pass

    def reply(self, code, body=b"", ctype="application/json", headers=None):
        self.state.count_status(code)
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        self.body_read = True
        n = int(self.headers.get("Content-Length", "0") or 0)
        if n < 0 or n > 64 << 20:
            self.close_connection = True  # the unread body cannot stay on the connection
            raise Reject(413, "body too large")
        data = self.rfile.read(n)
        if self.headers.get("Content-Encoding", "") == "gzip":
            data = gzip.decompress(data)
        return data

    def check_auth(self):
        a = self.state.args
        h = {k.lower(): v for k, v in self.headers.items()}
        if a.require_tenant:
            t = h.get("x-scope-orgid")
            if not t:
                raise Reject(401, "no org id", "unauthenticated")
            if not TENANT_RE.match(t):
                raise Reject(400, "bad org id")
        if a.basic_auth:
            want = "Basic " + base64.b64encode(a.basic_auth.encode()).decode()
            if h.get("authorization") != want:
                raise Reject(401, "bad basic auth", "unauthenticated")
        if a.bearer_token and h.get("authorization") != "Bearer " + a.bearer_token:
            raise Reject(401, "bad bearer token", "unauthenticated")
        for rh in a.require_header or []:
            name, _, value = rh.partition(":")
            if h.get(name.strip().lower()) != value.strip():
                raise Reject(401, "missing header " + name, "unauthenticated")
        return h

    def fault(self):
        mode, code, retry_after, seconds = self.state.take_fault()
        if mode != "ok":
            self.state.note_attempt(self.path, mode if mode != "status" else str(code))
        if mode == "status":
            self.body()
            msg = json.dumps({"code": "unavailable", "message": "injected %d" % code}).encode()
            self.reply(code, msg, headers={"Retry-After": str(retry_after)}
                       if retry_after is not None else {})
            return True
        if mode == "hang":
            # a counted hang stalls its request for `seconds` (past the client's timeout),
            # then closes without an answer; an uncounted one until the mode changes
            self.body()
            counted = seconds is not None
            deadline = time.time() + (seconds if counted else 60)
            while time.time() < deadline and (counted or self.state.mode == "hang"):
                time.sleep(0.05)
            self.state.count_status(0)
            self.close_connection = True
            return True
        if mode == "close_mid_body":
            n = int(self.headers.get("Content-Length", "0") or 0)
            self.rfile.read(min(n, 16))
            self.state.count_status(0)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True
        if mode == "garbage":
            self.body()
            self.reply(200, os.urandom(64), "text/html")
            return True
        return False

    def do_GET(self):
        if self.path == "/__stats":
            with self.state.lock:
                body = json.dumps(self.state.stats).encode()
            self.reply(200, body)
        else:
            self.reply(200 if self.path == "/" else 404, b"pyroscope-fake\n", "text/plain")

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def drain(self):
        """A request rejected before its body was read: read it, or the next request on
        this kept-alive connection would start inside it (curl then sees HTTP/0.9)."""
        if not self.body_read:
            try:
                self.body()
            except Exception:
                self.close_connection = True

    def do_POST(self):
        self.body_read = False
        try:
            if self.path == "/__control":
                ctl = json.loads(self.body() or b"{}")
                # the new mode before the answer: the client's next request meets it (a
                # loaded host once ran a push in between, which was accepted)
                after = apply_control(self.state, ctl)
                self.reply(200, b"{}")
                if after:
                    after()
                return
            if self.fault():
                return
            h = self.check_auth()
            if self.path == "/push.v1.PusherService/Push":
                recs = self.push(h)
            elif self.path.startswith("/ingest?") or self.path.startswith("/ingest/?"):
                recs = self.ingest(h)
            else:
                raise Reject(404, "no such endpoint", "not_found")
            self.state.write_records(recs)
            self.state.note_attempt(self.path, "200")
            self.reply(200, b"{}")
        except Reject as r:
            self.drain()
            self.state.note_attempt(self.path, str(r.code))
            self.state.note_rejection(r.code, r.msg)
            self.reply(r.code, json.dumps({"code": r.connect_code, "message": r.msg}).encode())
        except Exception as e:  # malformed input never crashes the receiver
            self.drain()
            self.state.note_rejection(400, "bad request: %s" % e)
            self.reply(400, json.dumps({"code": "invalid_argument",
                                        "message": "bad request: %s" % e}).encode())

    def push(self, h):
        if h.get("content-type", "").split(";")[0].strip() != "application/proto":
            raise Reject(415, "unsupported content type %r" % h.get("content-type"))
        req = push_pb2().PushRequest()
        try:
            req.ParseFromString(self.body())
        except Exception as e:
            raise Reject(400, "cannot decode PushRequest: %s" % e)
        # distributor.go Push: a request with no profile is "no profiles received" (400)
        if not any(s.samples for s in req.series):
            raise Reject(400, "no profiles received")
        tenant = h.get("x-scope-orgid")
        now_ns = time.time_ns()
        decoded = []
        for s in req.series:  # Push decodes every sample before any series is handled
            decoded.append([(smp, decode_profile(smp.raw_profile)) for smp in s.samples])
        recs = []
        for s, samples in zip(req.series, decoded):
            pairs = [(lp.name, lp.value) for lp in s.labels]
            # Stricter than the server, whose LabelsBuilder silently drops a label with an
            # empty value: stoker never means to send one, so it is a bug worth a 400. (An
            # empty service_name is 400 on the server too: it drops it, then
            # ValidateLabels finds no service name.)
            for n, v in pairs:
                if not v:
                    raise Reject(400, "label %r has an empty value" % n)
            check_private(n for n, _ in pairs)
            if "service_name" not in dict(pairs):
                # pushSeries fills service_name=unknown_service when it is missing. The
                # profiles would land where nobody looks for them, so unless told to act
                # like the server (--fill-service-name) this receiver rejects the request.
                if not self.state.args.fill_service_name:
                    raise Reject(400, "service_name missing (the server would file this "
                                 "profile under unknown_service)")
                pairs.append(("service_name", "unknown_service"))
            for smp, prof in samples:
                labels = check_series(self.state, tenant, pairs, prof, now_ns)
                recs.append(record_of("push", labels, prof, tenant, h, smp.ID))
        return recs

    def ingest(self, h):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query, strict_parsing=True)
        one = {k: v[0] for k, v in q.items()}
        # ingest_handler.go parseInputMetadataFromRequest: a bad name is 400
        app, tags = parse_ingest_name(one.get("name", ""))
        # Stricter than the server, which reads any time (attime.Parse) and falls back to
        # a default rate: stoker sends unix times and the rate it samples at.
        for k in ("from", "until"):
            if not re.match(r"^\d{10}$|^\d{13}$|^\d{16}$|^\d{19}$", one.get(k, "")):
                raise Reject(400, "bad %s %r" % (k, one.get(k)))
        if not re.match(r"^\d+$", one.get("sampleRate", "")):
            raise Reject(400, "bad sampleRate %r" % one.get("sampleRate"))
        # For pprof the server ignores sampleRate (the period is in the profile), so it is
        # only checked against the rate the test started the agent with, never trusted.
        if int(one["sampleRate"]) != self.state.args.cpu_hz:
            raise Reject(400, "sampleRate %s is not the agent's %d Hz"
                         % (one["sampleRate"], self.state.args.cpu_hz))
        if one.get("format") != "pprof":
            raise Reject(400, "format must be pprof for a raw body")
        tenant = h.get("x-scope-orgid")
        try:
            prof = decode_profile(self.body())
            # profile.go fixTime: a time_nanos of 0 (or in 1970) becomes `from`
            if 0 <= prof.pb.time_nanos < 365 * 86400 * 10 ** 9:
                prof.pb.time_nanos = parse_unix(one["from"])
            # profile.go createLabels: __name__ from the sample type, __delta__,
            # pyroscope_spy, service_name from the app name unless a tag sets it; tags
            # starting with "__" are dropped (IsLabelAllowedForIngestion).
            types = [prof.pb.string_table[t.type] for t in prof.pb.sample_type
                     if 0 <= t.type < len(prof.pb.string_table)]
            metric = "wall" if "wall" in types else \
                "process_cpu" if any("cpu" in t for t in types) else (types or [""])[-1]
            pairs = [("__name__", metric), ("__delta__", "false"),
                     ("pyroscope_spy", one.get("spyName") or "unknown")]
            if "service_name" not in tags:
                pairs.append(("service_name", app))
            check_private(tags, allowed=())
            pairs += [(k, v) for k, v in tags.items() if not k.startswith("__")]
            for n, v in pairs:  # stricter than the server, as on the push path
                if not v:
                    raise Reject(400, "tag %r has an empty value" % n)
            labels = check_series(self.state, tenant, pairs, prof, time.time_ns())
        except Reject as r:
            # ingest_handler.go ServeHTTP: errors from the push behind it are 422, but
            # resource exhausted is 429
            raise Reject(422 if r.code == 400 else r.code, r.msg, r.connect_code)
        return [record_of("ingest", labels, prof, tenant, h)]


def parse_unix(text):
    """attime.Parse for digits: 10 seconds, 13 ms, 16 us, 19 ns -> ns."""
    scale = {10: 10 ** 9, 13: 10 ** 6, 16: 10 ** 3, 19: 1}[len(text)]
    return int(text) * scale


def parse_ingest_name(name):
    """api/model/labelset Parse: APP{k=v,...} -> (app, {k: v}), both trimmed. The app name
    must be non-empty [A-Za-z0-9_./-] (ValidateServiceName), tag keys [A-Za-z0-9_.] and not
    __name__ (ValidateLabelName); a repeated key keeps its last value; anything after the
    closing brace is read as more tags; a tag without '=' is ignored. Errors are 400."""
    app, tags = None, {}
    state, key, val = "name", "", ""
    for ch in name + "{":
        if state == "name":
            if ch == "{":
                app = val.strip()
                if not app:
                    raise Reject(400, "name: service name is required")
                if not INGEST_APP_RE.match(app):
                    raise Reject(400, "name: invalid service name %r" % app)
                state = "key"
            else:
                val += ch
        elif state == "key":
            if ch == "}":
                state = "done"
            elif ch == "=":
                state, val = "value", ""
            else:
                key += ch
        elif state == "value":
            if ch in ",}":
                k = key.strip()
                if not k:
                    raise Reject(400, "name: label name is required")
                if k == "__name__":
                    raise Reject(400, "name: label name is reserved: __name__")
                if not TAG_KEY_RE.match(k):
                    raise Reject(400, "name: invalid label name %r" % k)
                tags[k] = val.strip()
                key, state = "", "key"
            else:
                val += ch
    return app, tags


def serve(state):
    srv = ThreadingHTTPServer(("127.0.0.1", state.port), Handler)
    srv.daemon_threads = True
    a = state.args
    if a.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        if a.tls_client_ca:  # mutual TLS: a client certificate signed by this CA is required
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(a.tls_client_ca)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    state.port = srv.server_address[1]
    state.server = srv
    threading.Thread(target=srv.serve_forever, daemon=True).start()


def apply_control(state, ctl):
    """Switches the mode now; returns what must run once the control request is answered
    (closing the listening socket for "refuse"), or None."""
    mode = ctl.get("mode", "ok")
    with state.lock:
        prev = state.mode
        state.mode = mode
        state.code = ctl.get("code", 503)
        state.count = ctl.get("count")
        state.retry_after = ctl.get("retry_after")
        state.seconds = ctl.get("seconds")
    if mode == "refuse" and prev != "refuse":
        # close the listening socket in the background, after the answer went out (the
        # caller starts it then)
        def close():
            time.sleep(0.1)
            state.server.shutdown()
            state.server.server_close()
            with state.lock:
                conns = list(state.conns)
            for c in conns:  # a server that goes away takes its connections with it
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        return lambda: threading.Thread(target=close, daemon=True).start()
    if prev == "refuse" and mode != "refuse":
        serve(state)
    return None


def control_while_refusing(state, port):
    """While refusing, a side port is not needed: tests switch back with SIGUSR1."""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--record")
    ap.add_argument("--cpu-hz", type=int, required=True,
                    help="the rate the agent samples at: every period must be 1e9 // HZ")
    ap.add_argument("--reject-older-than", type=int, default=REJECT_OLDER_THAN_S,
                    help="seconds; 0 disables (validation.reject-older-than)")
    ap.add_argument("--reject-newer-than", type=int, default=REJECT_NEWER_THAN_S,
                    help="seconds; 0 disables (validation.reject-newer-than)")
    ap.add_argument("--fill-service-name", action="store_true",
                    help="act like the server: file a series without service_name under "
                    "unknown_service instead of rejecting it")
    ap.add_argument("--require-tenant", action="store_true")
    ap.add_argument("--basic-auth")
    ap.add_argument("--bearer-token")
    ap.add_argument("--require-header", action="append")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--tls-client-ca")
    ap.add_argument("--mode", default="ok",
                    choices=["ok", "refuse", "status", "hang", "close_mid_body", "garbage"])
    ap.add_argument("--code", type=int, default=503)
    ap.add_argument("--count", type=int)
    ap.add_argument("--retry-after", type=int,
                    help="status mode: the Retry-After header (seconds) sent with the code")
    ap.add_argument("--seconds", type=float,
                    help="hang mode with --count: how long each request stalls")
    args = ap.parse_args()
    Handler.state = state = State(args)
    push_pb2()
    serve(state)
    if args.mode == "refuse":
        state.server.shutdown()
        state.server.server_close()
    # While the port is closed, SIGUSR1 re-opens it (mode ok) and SIGUSR2 closes it again.
    def by_signal(mode):
        after = apply_control(state, {"mode": mode})
        if after:
            after()
    signal.signal(signal.SIGUSR1, lambda *_: by_signal("ok"))
    signal.signal(signal.SIGUSR2, lambda *_: by_signal("refuse"))
    print("listening on %d" % state.port, flush=True)
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write(str(state.port))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()


if __name__ == "__main__":
    main()
