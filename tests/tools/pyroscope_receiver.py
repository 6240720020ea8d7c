#!/usr/bin/python3
"""A strict fake Pyroscope server for stoker's end-to-end tests.

It decodes what it receives with Python's protobuf runtime (not the agent's code), checks
what the real server checks (PushRequest labels, the pprof via pprof_check.validate, the
ingest query), records every accepted profile as one JSON line, and injects faults on
demand: refuse connections, answer a status code N times, hang, close mid-request, answer
garbage. Modes change at start (flags) or at run time: POST /__control {"mode": ...}.

Usage: pyroscope_receiver.py --port 0 --record FILE [--cpu-hz HZ] [--require-tenant]
       [--basic-auth USER:PASS] [--bearer-token TOKEN] [--require-header 'Name: value']
       [--mode MODE [--code N] [--count N]]
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
LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.]*$")
TENANT_RE = re.compile(r"^[0-9a-zA-Z!\-_.*'()]{1,150}$")
INGEST_NAME_RE = re.compile(r"^([^{}]+)(\{([^{}]*)\})?$")
TAG_KEY_RE = re.compile(r"^[A-Za-z0-9_.]+$")


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
        self.stats = {"requests": 0, "accepted": 0, "profiles": 0, "rejected_by_code": {}}
        self.record = args.record
        self.server = None
        self.port = args.port
        self.conns = set()  # open client connections: a refusal cuts kept-alive ones too

    def take_fault(self):
        """The fault for this request, consuming one of a counted status fault."""
        with self.lock:
            mode = self.mode
            if mode == "status":
                code = self.code
                if self.count is not None:
                    self.count -= 1
                    if self.count <= 0:
                        self.mode = "ok"
                return ("status", code)
            return (mode, None)

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


def decode_profile(raw, cpu_hz):
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except Exception as e:
            raise Reject(400, "bad gzip in profile: %s" % e)
    if len(raw) > pprof_check.MAX_SIZE:
        raise Reject(400, "profile too large: %d bytes" % len(raw))
    try:
        prof = pprof_check.load_bytes(raw)
    except Exception as e:
        raise Reject(400, "cannot decode pprof: %s" % e)
    hz = cpu_hz
    if hz is None:
        per = prof.pb.period
        hz = round(1e9 / per) if per > 0 else None
        if not hz or 1000000000 // hz != per:
            raise Reject(400, "period %d is not 1e9/HZ for an integer HZ" % per)
    problems = pprof_check.validate(prof, cpu_hz=hz)
    if problems:
        raise Reject(400, "invalid profile: " + "; ".join(problems[:5]))
    return prof


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
        "n_samples": len(prof.pb.sample), "id": sample_id,
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

    def reply(self, code, body=b"", ctype="application/json"):
        self.state.count_status(code)
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        if n < 0 or n > 64 << 20:
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
        mode, code = self.state.take_fault()
        if mode == "status":
            self.body()
            msg = json.dumps({"code": "unavailable", "message": "injected %d" % code}).encode()
            self.reply(code, msg)
            return True
        if mode == "hang":
            self.body()
            deadline = time.time() + 60
            while time.time() < deadline and self.state.mode == "hang":
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

    def do_POST(self):
        try:
            if self.path == "/__control":
                ctl = json.loads(self.body() or b"{}")
                self.reply(200, b"{}")
                apply_control(self.state, ctl)
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
            self.reply(200, b"{}")
        except Reject as r:
            self.reply(r.code, json.dumps({"code": r.connect_code, "message": r.msg}).encode())
        except Exception as e:  # malformed input never crashes the receiver
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
        if not req.series:
            raise Reject(400, "no series")
        recs = []
        for s in req.series:
            labels = {}
            for lp in s.labels:
                if lp.name in labels:
                    raise Reject(400, "duplicate label name %r" % lp.name)
                if not LABEL_RE.match(lp.name) and lp.name != "__name__":
                    raise Reject(400, "invalid label name %r" % lp.name)
                if len(lp.name) > 1024 or len(lp.value) > 2048 or not lp.value:
                    raise Reject(400, "label %r too long or empty" % lp.name)
                labels[lp.name] = lp.value
            if len(labels) > 30:
                raise Reject(400, "too many labels: %d" % len(labels))
            if not METRIC_RE.match(labels.get("__name__", "")):
                raise Reject(400, "missing or invalid __name__")
            if not s.samples:
                raise Reject(400, "series without samples")
            for smp in s.samples:
                prof = decode_profile(smp.raw_profile, self.state.args.cpu_hz)
                recs.append(record_of("push", labels, prof, h.get("x-scope-orgid"), h, smp.ID))
        return recs

    def ingest(self, h):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query, strict_parsing=True)
        one = {k: v[0] for k, v in q.items()}
        m = INGEST_NAME_RE.match(one.get("name", ""))
        if not m:
            raise Reject(400, "bad name %r" % one.get("name"))
        labels = {"__name__": "process_cpu", "service_name": m.group(1)}
        for kv in filter(None, (m.group(3) or "").split(",")):
            k, eq, v = kv.partition("=")
            if not eq or not TAG_KEY_RE.match(k):
                raise Reject(400, "bad tag %r" % kv)
            labels[k] = v
        for k in ("from", "until"):
            if not re.match(r"^\d{10}$|^\d{13}$|^\d{16}$|^\d{19}$", one.get(k, "")):
                raise Reject(400, "bad %s %r" % (k, one.get(k)))
        if not re.match(r"^\d+$", one.get("sampleRate", "")):
            raise Reject(400, "bad sampleRate")
        if one.get("format") != "pprof":
            raise Reject(400, "format must be pprof for a raw body")
        try:
            prof = decode_profile(self.body(), int(one["sampleRate"]))
        except Reject as r:
            raise Reject(422 if r.code == 400 else r.code, r.msg)
        return [record_of("ingest", labels, prof, h.get("x-scope-orgid"), h)]


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
    mode = ctl.get("mode", "ok")
    with state.lock:
        prev = state.mode
        state.mode = mode
        state.code = ctl.get("code", 503)
        state.count = ctl.get("count")
    if mode == "refuse" and prev != "refuse":
        # close the listening socket in the background, after this answer went out
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
        threading.Thread(target=close, daemon=True).start()
    elif prev == "refuse" and mode != "refuse":
        serve(state)


def control_while_refusing(state, port):
    """While refusing, a side port is not needed: tests switch back with SIGUSR1."""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--record")
    ap.add_argument("--cpu-hz", type=int)
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
    args = ap.parse_args()
    Handler.state = state = State(args)
    push_pb2()
    serve(state)
    if args.mode == "refuse":
        state.server.shutdown()
        state.server.server_close()
    # While the port is closed, SIGUSR1 re-opens it (mode ok) and SIGUSR2 closes it again.
    signal.signal(signal.SIGUSR1, lambda *_: apply_control(state, {"mode": "ok"}))
    signal.signal(signal.SIGUSR2, lambda *_: apply_control(state, {"mode": "refuse"}))
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
