#!/usr/bin/python3
"""Strict, independent pprof decoder and validator for stoker's test suite.

Runs under Debian's /usr/bin/python3 with python3-protobuf. The Python module
for the schema is generated at run time from <repo>/proto/profile.proto with
protoc (cached in <repo>/build/py/, regenerated when the .proto is newer).

CLI:
  pprof_check.py validate [--allow-zero-time] [--no-limits] [--cpu-hz HZ] FILE
  pprof_check.py summary  [--label K=V]... FILE
  pprof_check.py shares   [--pid N] [--label K=V]... [--func NAME]...
                          [--path A,B,C]... [--skip-leaf REGEX]... FILE
FILE is a pprof profile, gzipped or not; "-" reads stdin.
Exit status: 0 ok, 1 violations / undecodable profile, 2 usage or environment
error (e.g. protoc missing).

Module use:
  import pprof_check
  prof = pprof_check.load(path)            # or load_bytes(data)
  problems = pprof_check.validate(prof, cpu_hz=99)
  for st in pprof_check.stacks(prof): ...
  pb2 = pprof_check.pb2()                  # the generated profile_pb2 module

Every violation is one line "<rule>: <where>: <detail>"; the rule names are
stable so that tests can match on them.
"""

import argparse
import gzip
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PROTO = os.environ.get("PPROF_CHECK_PROTO",
                       os.path.join(REPO, "proto", "profile.proto"))
CACHE = os.environ.get("PPROF_CHECK_CACHE", os.path.join(REPO, "build", "py"))

# Pyroscope's default server limits (see /work/shared/PYROSCOPE.md).
MAX_SAMPLES = 16000
MAX_SIZE = 4 << 20
MAX_LABELS_PER_SAMPLE = 100

SPAN_ID_RE = re.compile(r"^[0-9a-f]{16}$")
TRACE_ID_RE = re.compile(r"^[0-9a-fA-F]{32}$")


class ProtocMissing(RuntimeError):
    """protoc is not installed or failed to generate the module."""


class ProfileError(ValueError):
    """The input cannot be decoded as a pprof profile at all."""


# --------------------------------------------------------------------------
# Generated module
# --------------------------------------------------------------------------

_PB2 = None


def _generate(cache):
    protoc = shutil.which("protoc")
    if not protoc:
        raise ProtocMissing(
            "protoc not found in PATH; install protobuf-compiler "
            "(apt-get install protobuf-compiler)")
    if not os.path.isfile(PROTO):
        raise ProtocMissing("schema not found: %s" % PROTO)
    os.makedirs(cache, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".gen-", dir=cache)
    try:
        res = subprocess.run(
            [protoc, "--python_out=" + tmp, "-I" + os.path.dirname(PROTO),
             os.path.basename(PROTO)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if res.returncode != 0:
            raise ProtocMissing("protoc failed (%d): %s" %
                                (res.returncode, res.stderr.strip()))
        # Atomic replace: concurrent test processes may race here.
        os.replace(os.path.join(tmp, "profile_pb2.py"),
                   os.path.join(cache, "profile_pb2.py"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _cache_dir():
    try:
        os.makedirs(CACHE, exist_ok=True)
        if os.access(CACHE, os.W_OK):
            return CACHE
    except OSError:
        pass
    return os.path.join(tempfile.gettempdir(),
                        "stoker-pprof-py-%d" % os.getuid())


def pb2():
    """Return the profile_pb2 module generated from proto/profile.proto."""
    global _PB2
    if _PB2 is not None:
        return _PB2
    old = sys.modules.get("profile_pb2")
    if old is not None and getattr(old, "Profile", None) is not None and \
            old.Profile.DESCRIPTOR.full_name == "perftools.profiles.Profile":
        _PB2 = old
        return _PB2
    if importlib.util.find_spec("google") is None or \
            importlib.util.find_spec("google.protobuf") is None:
        raise ProtocMissing("the google.protobuf module is not installed; install "
                            "python3-protobuf (scripts/install-deps.sh test)")
    cache = _cache_dir()
    path = os.path.join(cache, "profile_pb2.py")
    stale = (not os.path.exists(path) or
             (os.path.exists(PROTO) and
              os.path.getmtime(path) < os.path.getmtime(PROTO)))
    if stale:
        _generate(cache)
    for attempt in (0, 1):
        try:
            spec = importlib.util.spec_from_file_location("profile_pb2", path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            break
        except Exception:
            if attempt:
                raise
            _generate(cache)   # a cached file from another protoc; redo once
    sys.modules.setdefault("profile_pb2", mod)
    _PB2 = mod
    return _PB2


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------

class Profile:
    """A decoded profile: .pb is the profile_pb2.Profile message, .raw_size
    the uncompressed serialized size and .load_errors the violations found
    while decoding (invalid UTF-8). Attribute access falls through to .pb."""

    def __init__(self, pb, raw_size=None, load_errors=None):
        self.pb = pb
        self.raw_size = pb.ByteSize() if raw_size is None else raw_size
        self.load_errors = list(load_errors or [])

    def __getattr__(self, name):
        return getattr(self.pb, name)


def _varint(buf, pos):
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ProfileError("truncated varint at byte %d" % pos)
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProfileError("varint too long at byte %d" % pos)


def _encode_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _top_fields(buf):
    """Yield (field, wire_type, start, payload_start, end) of top-level fields."""
    pos = 0
    n = len(buf)
    while pos < n:
        start = pos
        tag, pos = _varint(buf, pos)
        field, wt = tag >> 3, tag & 7
        if field == 0:
            raise ProfileError("field number 0 at byte %d" % start)
        if wt == 0:
            _, pos = _varint(buf, pos)
            yield field, wt, start, pos, pos
        elif wt == 1:
            pos += 8
            yield field, wt, start, pos, pos
        elif wt == 2:
            ln, p = _varint(buf, pos)
            pos = p + ln
            yield field, wt, start, p, pos
        elif wt == 5:
            pos += 4
            yield field, wt, start, pos, pos
        else:
            raise ProfileError("unsupported wire type %d at byte %d" %
                               (wt, start))
        if pos > n:
            raise ProfileError("truncated field %d at byte %d" % (field, start))


def load_bytes(data):
    """Decode a pprof profile (gzipped or not) from bytes -> Profile."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, ValueError) as e:
            raise ProfileError("bad gzip stream: %s" % e)
    data = bytes(data)
    # The protobuf runtime rejects invalid UTF-8 in proto3 strings with an
    # exception; find such strings ourselves (the string table is the only
    # string field of the schema), report them, and decode a repaired copy.
    errors = []
    fixed = None
    idx = 0
    for field, wt, start, p, end in _top_fields(data):
        if field == 6 and wt == 2:
            raw = data[p:end]
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as e:
                errors.append("utf8: string_table[%d]: invalid UTF-8 (%s): %r"
                              % (idx, e.reason, raw[:40]))
                if fixed is None:
                    fixed = bytearray(data[:start])
                rep = raw.decode("utf-8", "replace").encode("utf-8")
                fixed += b"\x32" + _encode_varint(len(rep)) + rep
                idx += 1
                continue
            idx += 1
        if fixed is not None:
            fixed += data[start:end]
    pb = pb2().Profile()
    try:
        pb.ParseFromString(bytes(fixed) if fixed is not None else data)
    except Exception as e:   # DecodeError, UnicodeDecodeError, ...
        raise ProfileError("protobuf decode failed: %s: %s" %
                           (type(e).__name__, e))
    return Profile(pb, raw_size=len(data), load_errors=errors)


def load(path):
    """Load a pprof file (gzipped or not; "-" = stdin) -> Profile."""
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(path, "rb") as f:
            data = f.read()
    return load_bytes(data)


def _unwrap(profile):
    if isinstance(profile, Profile):
        return profile.pb, profile.raw_size, profile.load_errors
    return profile, profile.ByteSize(), []


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------

def validate(profile, allow_zero_time=False, no_limits=False, cpu_hz=None,
             max_samples=MAX_SAMPLES, max_size=MAX_SIZE,
             max_labels=MAX_LABELS_PER_SAMPLE):
    """Return a list of violations (empty when the profile is acceptable).

    profile: a Profile from load()/load_bytes() or a profile_pb2.Profile.
    """
    pb, raw_size, load_errors = _unwrap(profile)
    v = list(load_errors)
    st = pb.string_table
    nstr = len(st)

    def s(i):
        return st[i] if 0 <= i < nstr else None

    def sidx(where, i):
        if not 0 <= i < nstr:
            v.append("string_index: %s: index %d out of range (%d strings)"
                     % (where, i, nstr))
            return False
        return True

    # string table
    if nstr == 0:
        v.append("string0: string_table: empty (entry 0 must be \"\")")
    elif st[0] != "":
        v.append("string0: string_table[0]: %r, must be \"\"" % st[0])

    # sample / period types
    if len(pb.sample_type) == 0:
        v.append("sample_type: profile: sample_type is empty")
    for i, vt in enumerate(pb.sample_type):
        for what in ("type", "unit"):
            k = getattr(vt, what)
            where = "sample_type[%d].%s" % (i, what)
            if sidx(where, k):
                if "-" in st[k]:
                    v.append("type_name: %s: %r contains '-'" % (where, st[k]))
                if k == 0 and what == "type":
                    v.append("type_name: %s: empty" % where)
    if not pb.HasField("period_type") or pb.period_type.type == 0:
        v.append("period_type: profile: period_type not set")
    if pb.HasField("period_type"):
        for what in ("type", "unit"):
            k = getattr(pb.period_type, what)
            where = "period_type.%s" % what
            if sidx(where, k) and "-" in st[k]:
                v.append("type_name: %s: %r contains '-'" % (where, st[k]))
    if pb.period <= 0:
        v.append("period: profile: period %d must be > 0" % pb.period)
    if not allow_zero_time:
        if pb.time_nanos <= 0:
            v.append("time: profile: time_nanos %d must be > 0" % pb.time_nanos)
        if pb.duration_nanos <= 0:
            v.append("duration: profile: duration_nanos %d must be > 0"
                     % pb.duration_nanos)
    for name in ("drop_frames", "keep_frames", "default_sample_type"):
        sidx(name, getattr(pb, name))
    for i, c in enumerate(pb.comment):
        sidx("comment[%d]" % i, c)

    # mappings
    mappings = {}
    for i, m in enumerate(pb.mapping):
        where = "mapping[%d]" % i
        if m.id == 0:
            v.append("mapping_id: %s: id is 0" % where)
        elif m.id in mappings:
            v.append("mapping_id: %s: duplicate id %d" % (where, m.id))
        else:
            mappings[m.id] = m
        sidx(where + ".filename", m.filename)
        sidx(where + ".build_id", m.build_id)

    # functions
    functions = {}
    for i, f in enumerate(pb.function):
        where = "function[%d]" % i
        if f.id == 0:
            v.append("function_id: %s: id is 0" % where)
        elif f.id in functions:
            v.append("function_id: %s: duplicate id %d" % (where, f.id))
        else:
            functions[f.id] = f
        sidx(where + ".name", f.name)
        sidx(where + ".system_name", f.system_name)
        sidx(where + ".filename", f.filename)

    # locations
    locations = {}
    for i, loc in enumerate(pb.location):
        where = "location[%d]" % i
        if loc.id == 0:
            v.append("location_id: %s: id is 0" % where)
        elif loc.id in locations:
            v.append("location_id: %s: duplicate id %d" % (where, loc.id))
        else:
            locations[loc.id] = loc
        if loc.mapping_id != 0 and loc.mapping_id not in mappings:
            v.append("location_mapping: %s (id %d): mapping_id %d does not exist"
                     % (where, loc.id, loc.mapping_id))
        if len(loc.line) == 0 and loc.address == 0:
            v.append("empty_location: %s (id %d): no lines and address 0"
                     % (where, loc.id))
        for j, ln in enumerate(loc.line):
            if ln.function_id not in functions:
                v.append("line_function: %s (id %d).line[%d]: function_id %d "
                         "does not exist" % (where, loc.id, j, ln.function_id))

    # samples
    if not no_limits and len(pb.sample) > max_samples:
        v.append("limit_samples: profile: %d samples > %d"
                 % (len(pb.sample), max_samples))
    if not no_limits and raw_size > max_size:
        v.append("limit_size: profile: %d bytes uncompressed > %d"
                 % (raw_size, max_size))
    nst = len(pb.sample_type)
    cpu_period = None
    if cpu_hz is not None:
        cpu_period = 1000000000 // int(cpu_hz)
        types = [(s(t.type), s(t.unit)) for t in pb.sample_type]
        if types != [("cpu", "nanoseconds")]:
            v.append("cpu_sample_type: profile: sample_type %r, want "
                     "[('cpu', 'nanoseconds')]" % types)
        pt = (s(pb.period_type.type), s(pb.period_type.unit))
        if pt != ("cpu", "nanoseconds"):
            v.append("cpu_period_type: profile: period_type %r, want "
                     "('cpu', 'nanoseconds')" % (pt,))
        if pb.period != cpu_period:
            v.append("cpu_period: profile: period %d, want 1e9 // %d = %d"
                     % (pb.period, int(cpu_hz), cpu_period))
    for i, smp in enumerate(pb.sample):
        where = "sample[%d]" % i
        if len(smp.value) != nst:
            v.append("value_count: %s: %d values for %d sample types"
                     % (where, len(smp.value), nst))
        for j, lid in enumerate(smp.location_id):
            if lid not in locations:
                v.append("sample_location: %s.location_id[%d]: location %d "
                         "does not exist" % (where, j, lid))
        if cpu_period:
            for j, val in enumerate(smp.value):
                if val <= 0 or val % cpu_period != 0:
                    v.append("cpu_value: %s.value[%d]: %d is not a positive "
                             "multiple of period %d"
                             % (where, j, val, cpu_period))
        if len(smp.label) > max_labels:
            v.append("limit_labels: %s: %d labels > %d"
                     % (where, len(smp.label), max_labels))
        for j, lb in enumerate(smp.label):
            lw = "%s.label[%d]" % (where, j)
            ok_key = sidx(lw + ".key", lb.key)
            ok_str = sidx(lw + ".str", lb.str)
            sidx(lw + ".num_unit", lb.num_unit)
            if not ok_key:
                continue
            key = st[lb.key]
            if key == "":
                v.append("label_key: %s: empty key" % lw)
            elif key == "span_id":
                val = st[lb.str] if ok_str else None
                if val is None or not SPAN_ID_RE.match(val):
                    v.append("span_id: %s: %r is not 16 lowercase hex chars"
                             % (lw, val))
            elif key == "trace_id":
                val = st[lb.str] if ok_str else None
                if val is None or not TRACE_ID_RE.match(val):
                    v.append("trace_id: %s: %r is not 32 hex chars" % (lw, val))
    return v


# --------------------------------------------------------------------------
# Stacks, summary, shares
# --------------------------------------------------------------------------

def _div(a, b):
    if b <= 0:
        return None
    return a // b if a % b == 0 else a / b


def _str(pb, i):
    return pb.string_table[i] if 0 <= i < len(pb.string_table) else \
        "<bad string %d>" % i


def _sample_labels(pb, smp):
    out = {}
    for lb in smp.label:
        k = _str(pb, lb.key)
        out[k] = _str(pb, lb.str) if lb.str != 0 else lb.num
    return out


def _location_frames(pb, loc, mappings, functions):
    """Frames of one location, root-most first (lines are leaf-most first)."""
    if len(loc.line) == 0:
        m = mappings.get(loc.mapping_id)
        if m is not None:
            base = os.path.basename(_str(pb, m.filename)) or "[unknown]"
            addr = loc.address
            if m.memory_start <= addr < m.memory_limit:
                addr = addr - m.memory_start + m.file_offset
        else:
            base, addr = "[unknown]", loc.address
        return ["%s+0x%x" % (base, addr)]
    frames = []
    for ln in reversed(loc.line):
        f = functions.get(ln.function_id)
        if f is None:
            frames.append("<bad function %d>" % ln.function_id)
            continue
        name = _str(pb, f.name) or _str(pb, f.system_name) or \
            "<function %d>" % f.id
        frames.append(name)
    return frames


def stacks(profile):
    """List of {"frames": [root..leaf], "value", "count", "labels"} per sample
    (value = first value of the sample, count = value / period)."""
    pb, _, _ = _unwrap(profile)
    mappings = {m.id: m for m in pb.mapping}
    functions = {f.id: f for f in pb.function}
    locs = {}
    for loc in pb.location:
        locs.setdefault(loc.id, _location_frames(pb, loc, mappings, functions))
    out = []
    for smp in pb.sample:
        frames = []
        for lid in reversed(smp.location_id):
            frames.extend(locs.get(lid, ["<bad location %d>" % lid]))
        value = smp.value[0] if len(smp.value) else 0
        out.append({"frames": frames, "value": value,
                    "count": _div(value, pb.period),
                    "labels": _sample_labels(pb, smp)})
    return out


def _parse_kv(items):
    out = []
    for it in items or []:
        if "=" not in it:
            raise ValueError("label filter %r is not K=V" % it)
        k, val = it.split("=", 1)
        out.append((k, val))
    return out


def _match(labels, filters):
    for k, val in filters:
        if k not in labels or str(labels[k]) != val:
            return False
    return True


def filter_stacks(profile, labels=(), pid=None):
    """stacks() restricted to samples whose labels match every K=V filter
    (a numeric label matches its decimal text) and, if pid is given, pid."""
    flt = _parse_kv(labels)
    if pid is not None:
        flt.append(("pid", str(pid)))
    return [x for x in stacks(profile) if _match(x["labels"], flt)]


def summary(profile, labels=()):
    pb, _, _ = _unwrap(profile)
    sts = filter_stacks(profile, labels)
    total = sum(x["value"] for x in sts)
    return {
        "period": pb.period,
        "time_nanos": pb.time_nanos,
        "duration_nanos": pb.duration_nanos,
        "sample_type": ["%s/%s" % (_str(pb, t.type), _str(pb, t.unit))
                        for t in pb.sample_type],
        "total_value": total,
        "total_samples": _div(total, pb.period),
        "mappings": [{"id": m.id, "start": m.memory_start,
                      "limit": m.memory_limit, "offset": m.file_offset,
                      "filename": _str(pb, m.filename),
                      "build_id": _str(pb, m.build_id)} for m in pb.mapping],
        "stacks": sts,
    }


def _contains(frames, path):
    n = len(path)
    if n == 0:
        return False
    for i in range(len(frames) - n + 1):
        if frames[i:i + n] == path:
            return True
    return False


def shares(profile, funcs=(), paths=(), labels=(), pid=None, skip_leaf=()):
    """Fractions (0..1) of the filtered samples, weighted by sample count
    (value / period; raw value when period <= 0).

    self[f]: leaf frame is f, after dropping leaf frames matching any
    skip_leaf regex (re.search); inclusive[f]: f anywhere in the stack;
    paths["a,b,c"]: stack contains a, b, c contiguously root->leaf."""
    pb, _, _ = _unwrap(profile)
    sts = filter_stacks(profile, labels, pid)
    skips = [re.compile(r) for r in skip_leaf]
    paths = [p if isinstance(p, (list, tuple)) else p.split(",")
             for p in paths]
    total = 0
    selfw = {f: 0 for f in funcs}
    incl = {f: 0 for f in funcs}
    pathw = {",".join(p): 0 for p in paths}
    for x in sts:
        w = x["count"] if x["count"] is not None else x["value"]
        total += w
        frames = x["frames"]
        k = len(frames)
        while k > 0 and any(r.search(frames[k - 1]) for r in skips):
            k -= 1
        leaf = frames[k - 1] if k > 0 else None
        present = set(frames)
        for f in funcs:
            if leaf == f:
                selfw[f] += w
            if f in present:
                incl[f] += w
        for p in paths:
            if _contains(frames, list(p)):
                pathw[",".join(p)] += w

    def frac(n):
        return n / total if total else 0.0

    return {"total": total,
            "self": {f: frac(n) for f, n in selfw.items()},
            "inclusive": {f: frac(n) for f, n in incl.items()},
            "paths": {p: frac(n) for p, n in pathw.items()}}


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

def _cmd_validate(args, prof):
    problems = validate(prof, allow_zero_time=args.allow_zero_time,
                        no_limits=args.no_limits, cpu_hz=args.cpu_hz)
    if problems:
        for p in problems:
            print(p)
        return 1
    pb = prof.pb
    print("ok: %d samples, %d locations, %d functions, %d mappings, "
          "%d strings, %d bytes uncompressed, period %d"
          % (len(pb.sample), len(pb.location), len(pb.function),
             len(pb.mapping), len(pb.string_table), prof.raw_size, pb.period))
    return 0


def _cmd_summary(args, prof):
    json.dump(summary(prof, args.label), sys.stdout, indent=1)
    print()
    return 0


def _cmd_shares(args, prof):
    json.dump(shares(prof, funcs=args.func, paths=args.path, labels=args.label,
                     pid=args.pid, skip_leaf=args.skip_leaf),
              sys.stdout, indent=1)
    print()
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="pprof_check.py",
        description="Strict pprof decoder/validator for stoker's tests.")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("validate", help="check a profile strictly")
    p.add_argument("--allow-zero-time", action="store_true",
                   help="accept time_nanos / duration_nanos == 0")
    p.add_argument("--no-limits", action="store_true",
                   help="skip the sample-count and 4 MiB size limits")
    p.add_argument("--cpu-hz", type=int, metavar="HZ",
                   help="also check the CPU profile shape for HZ")
    p.add_argument("file")
    p.set_defaults(fn=_cmd_validate)

    p = sub.add_parser("summary", help="print the profile as JSON")
    p.add_argument("--label", action="append", default=[], metavar="K=V")
    p.add_argument("file")
    p.set_defaults(fn=_cmd_summary)

    p = sub.add_parser("shares", help="self/inclusive/path shares as JSON")
    p.add_argument("--pid", type=int)
    p.add_argument("--label", action="append", default=[], metavar="K=V")
    p.add_argument("--func", action="append", default=[], metavar="NAME")
    p.add_argument("--path", action="append", default=[], metavar="A,B,C")
    p.add_argument("--skip-leaf", action="append", default=[],
                   metavar="REGEX")
    p.add_argument("file")
    p.set_defaults(fn=_cmd_shares)

    args = ap.parse_args(argv)
    for kv in getattr(args, "label", []):
        if "=" not in kv:
            ap.error("--label %r is not K=V" % kv)
    for r in getattr(args, "skip_leaf", []):
        try:
            re.compile(r)
        except re.error as e:
            ap.error("--skip-leaf %r: %s" % (r, e))
    if getattr(args, "cpu_hz", None) is not None and args.cpu_hz <= 0:
        ap.error("--cpu-hz must be > 0")
    try:
        pb2()
    except ProtocMissing as e:
        print("pprof_check: %s" % e, file=sys.stderr)
        return 2
    try:
        prof = load(args.file)
    except OSError as e:
        print("pprof_check: %s" % e, file=sys.stderr)
        return 2
    except ProfileError as e:
        if args.cmd == "validate":
            print("decode: %s: %s" % (args.file, e))
        else:
            print("pprof_check: %s: %s" % (args.file, e), file=sys.stderr)
        return 1
    return args.fn(args, prof)


if __name__ == "__main__":
    sys.exit(main())
