#!/usr/bin/python3
"""Tests for pprof_check.py.

Run: /usr/bin/python3 tests/tools/test_pprof_check.py   (prints "N passed, N failed")
 or: cd tests/tools && /usr/bin/python3 -m unittest test_pprof_check
"""

import gzip
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pprof_check  # noqa: E402

PB = pprof_check.pb2()
SCRIPT = os.path.join(HERE, "pprof_check.py")
HZ = 99
PERIOD = 1000000000 // HZ


class Builder:
    """Small helper that builds profile_pb2.Profile messages."""

    def __init__(self, period=PERIOD):
        self.p = PB.Profile()
        self.strings = {}
        self.s("")
        self.p.sample_type.add(type=self.s("cpu"), unit=self.s("nanoseconds"))
        self.p.period_type.type = self.s("cpu")
        self.p.period_type.unit = self.s("nanoseconds")
        self.p.period = period
        self.p.time_nanos = 1700000000000000000
        self.p.duration_nanos = 10000000000
        self.funcs = {}

    def s(self, text):
        if text not in self.strings:
            self.strings[text] = len(self.p.string_table)
            self.p.string_table.append(text)
        return self.strings[text]

    def mapping(self, mid, start, limit, offset, filename, build_id=""):
        self.p.mapping.add(id=mid, memory_start=start, memory_limit=limit,
                           file_offset=offset, filename=self.s(filename),
                           build_id=self.s(build_id))

    def func(self, name):
        if name not in self.funcs:
            fid = len(self.funcs) + 1
            self.funcs[name] = fid
            self.p.function.add(id=fid, name=self.s(name),
                                system_name=self.s(name))
        return self.funcs[name]

    def loc(self, lid, names, address=0, mapping_id=0):
        """names: leaf-most (innermost inlined) first, as in pprof."""
        loc = self.p.location.add(id=lid, address=address,
                                  mapping_id=mapping_id)
        for n in names:
            loc.line.add(function_id=self.func(n), line=1)
        return loc

    def sample(self, loc_ids, count, **labels):
        smp = self.p.sample.add(location_id=loc_ids,
                                value=[count * self.p.period])
        for k, v in labels.items():
            if isinstance(v, int):
                smp.label.add(key=self.s(k), num=v)
            else:
                smp.label.add(key=self.s(k), str=self.s(v))
        return smp


def valid_cpu():
    b = Builder()
    b.mapping(1, 0x400000, 0x500000, 0x1000, "/usr/bin/app", "abcdef")
    b.loc(1, ["main"], 0x401000, 1)
    b.loc(2, ["run"], 0x401100, 1)
    b.loc(3, ["hot_a"], 0x401200, 1)
    b.loc(4, [], 0x401234, 1)
    b.sample([3, 2, 1], 5, pid=100, span_id="0123456789abcdef",
             trace_id="0123456789abcdef0123456789ABCDEF")
    b.sample([4, 2, 1], 1, pid=100, comm="app")
    return b


def rules(problems):
    return {p.split(":", 1)[0] for p in problems}


class ValidateTest(unittest.TestCase):

    def check(self, rule, mutate, **opts):
        b = valid_cpu()
        mutate(b)
        problems = pprof_check.validate(b.p, cpu_hz=HZ, **opts)
        self.assertIn(rule, rules(problems), problems)
        for line in problems:
            self.assertNotIn("\n", line)
        return problems

    def test_valid(self):
        b = valid_cpu()
        self.assertEqual(pprof_check.validate(b.p, cpu_hz=HZ), [])
        self.assertEqual(pprof_check.validate(b.p), [])
        data = b.p.SerializeToString()
        self.assertEqual(pprof_check.validate(pprof_check.load_bytes(data),
                                              cpu_hz=HZ), [])
        gz = pprof_check.load_bytes(gzip.compress(data))
        self.assertEqual(gz.raw_size, len(data))
        self.assertEqual(pprof_check.validate(gz, cpu_hz=HZ), [])

    def test_string0(self):
        def m(b):
            b.p.string_table[0] = "x"
        self.check("string0", m)

    def test_string_table_empty(self):
        p = PB.Profile()
        self.assertIn("string0", rules(pprof_check.validate(p)))

    def test_string_index_label(self):
        def m(b):
            b.p.sample[0].label[0].key = 999
        self.check("string_index", m)

    def test_string_index_function(self):
        def m(b):
            b.p.function[0].name = -1
        self.check("string_index", m)

    def test_string_index_mapping(self):
        def m(b):
            b.p.mapping[0].build_id = len(b.p.string_table)
        self.check("string_index", m)

    def test_string_index_comment(self):
        def m(b):
            b.p.comment.append(12345)
        self.check("string_index", m)

    def test_sample_type_empty(self):
        def m(b):
            del b.p.sample_type[:]
        self.check("sample_type", m)

    def test_value_count(self):
        def m(b):
            b.p.sample[1].value.append(PERIOD)
        self.check("value_count", m)

    def test_type_name_dash(self):
        def m(b):
            b.p.sample_type[0].type = b.s("cpu-time")
        self.check("type_name", m)

    def test_unit_name_dash(self):
        def m(b):
            b.p.period_type.unit = b.s("nano-seconds")
        self.check("type_name", m)

    def test_location_id_zero(self):
        def m(b):
            b.loc(0, ["zero"], 0x401300, 1)
        self.check("location_id", m)

    def test_location_id_dup(self):
        def m(b):
            b.loc(2, ["dup"], 0x401300, 1)
        self.check("location_id", m)

    def test_function_id_zero(self):
        def m(b):
            b.p.function.add(id=0, name=b.s("zero"))
        self.check("function_id", m)

    def test_function_id_dup(self):
        def m(b):
            b.p.function.add(id=1, name=b.s("dup"))
        self.check("function_id", m)

    def test_mapping_id_zero(self):
        def m(b):
            b.mapping(0, 0x600000, 0x700000, 0, "/lib/x.so")
        self.check("mapping_id", m)

    def test_mapping_id_dup(self):
        def m(b):
            b.mapping(1, 0x600000, 0x700000, 0, "/lib/x.so")
        self.check("mapping_id", m)

    def test_sample_location(self):
        def m(b):
            b.p.sample[0].location_id.append(77)
        self.check("sample_location", m)

    def test_location_mapping(self):
        def m(b):
            b.p.location[0].mapping_id = 9
        self.check("location_mapping", m)

    def test_line_function(self):
        def m(b):
            b.p.location[0].line[0].function_id = 42
        self.check("line_function", m)

    def test_utf8(self):
        data = valid_cpu().p.SerializeToString()
        bad = b"caf\xc3"          # truncated UTF-8 sequence
        data += b"\x32" + bytes([len(bad)]) + bad   # one more string_table entry
        prof = pprof_check.load_bytes(data)
        problems = pprof_check.validate(prof, cpu_hz=HZ)
        self.assertEqual(rules(problems), {"utf8"}, problems)
        self.assertIn("string_table[", problems[0])
        # also through gzip and the CLI (no traceback, exit 1)
        with tempfile.NamedTemporaryFile(suffix=".pb.gz") as f:
            f.write(gzip.compress(data))
            f.flush()
            r = subprocess.run([sys.executable, SCRIPT, "validate", f.name],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertTrue(r.stdout.startswith("utf8:"), r.stdout)
        self.assertNotIn("Traceback", r.stderr)

    def test_period_type_unset(self):
        def m(b):
            b.p.ClearField("period_type")
        self.check("period_type", m)

    def test_period(self):
        def m(b):
            b.p.period = 0
        self.check("period", m)
        self.assertIn("period", rules(pprof_check.validate(
            valid_cpu_with(m).p)))   # also without cpu_hz

    def test_time(self):
        def m(b):
            b.p.time_nanos = 0
        self.check("time", m)
        self.assertEqual(pprof_check.validate(valid_cpu_with(m).p,
                                              allow_zero_time=True), [])

    def test_duration(self):
        def m(b):
            b.p.duration_nanos = 0
        self.check("duration", m)
        self.assertEqual(pprof_check.validate(valid_cpu_with(m).p,
                                              allow_zero_time=True), [])

    def test_limit_samples(self):
        def m(b):
            for _ in range(pprof_check.MAX_SAMPLES):
                b.p.sample.add(location_id=[1], value=[PERIOD])
        self.check("limit_samples", m)
        self.assertEqual(pprof_check.validate(valid_cpu_with(m).p,
                                              no_limits=True), [])

    def test_limit_size(self):
        def m(b):
            b.s("x" * (4 << 20))
        self.check("limit_size", m)
        self.assertEqual(pprof_check.validate(valid_cpu_with(m).p,
                                              no_limits=True), [])

    def test_limit_labels(self):
        def m(b):
            for i in range(101):
                b.p.sample[0].label.add(key=b.s("k%d" % i), num=i)
        self.check("limit_labels", m)

    def test_label_key_empty(self):
        def m(b):
            b.p.sample[0].label.add(key=0, str=b.s("v"))
        self.check("label_key", m)

    def test_span_id(self):
        for bad in ("0123456789ABCDEF", "0123456789abcde", "0123456789abcdefa",
                    "0123456789abcdeg"):
            def m(b, bad=bad):
                b.sample([3, 2, 1], 1, span_id=bad)
            self.check("span_id", m)

    def test_span_id_num(self):
        def m(b):
            b.sample([3, 2, 1], 1, span_id=1234)
        self.check("span_id", m)

    def test_trace_id(self):
        def m(b):
            b.sample([3, 2, 1], 1, trace_id="0123456789abcdef")
        self.check("trace_id", m)

    def test_empty_location(self):
        def m(b):
            b.p.location.add(id=50)
            b.p.sample[0].location_id[0] = 50
        self.check("empty_location", m)

    def test_cpu_sample_type(self):
        def m(b):
            b.p.sample_type[0].type = b.s("samples")
        self.check("cpu_sample_type", m)
        # not a violation without --cpu-hz
        self.assertEqual(pprof_check.validate(valid_cpu_with(m).p), [])

    def test_cpu_sample_type_extra(self):
        def m(b):
            b.p.sample_type.add(type=b.s("samples"), unit=b.s("count"))
            for smp in b.p.sample:
                smp.value.append(1)
        self.check("cpu_sample_type", m)

    def test_cpu_period_type(self):
        def m(b):
            b.p.period_type.unit = b.s("count")
        self.check("cpu_period_type", m)

    def test_cpu_period(self):
        def m(b):
            b.p.period = PERIOD + 1
        self.check("cpu_period", m)

    def test_cpu_value_not_multiple(self):
        def m(b):
            b.p.sample[0].value[0] = PERIOD * 3 + 1
        self.check("cpu_value", m)

    def test_cpu_value_zero(self):
        def m(b):
            b.p.sample[0].value[0] = 0
        self.check("cpu_value", m)

    def test_cpu_value_negative(self):
        def m(b):
            b.p.sample[0].value[0] = -PERIOD
        self.check("cpu_value", m)

    def test_decode_error(self):
        with self.assertRaises(pprof_check.ProfileError):
            pprof_check.load_bytes(b"\x0a\xff\xff\xff")
        with self.assertRaises(pprof_check.ProfileError):
            pprof_check.load_bytes(b"\x1f\x8b\x08garbage")
        r = subprocess.run([sys.executable, SCRIPT, "validate", "-"],
                           input=b"\x0a\x05ab", stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stdout.startswith(b"decode:"), r.stdout)
        self.assertNotIn(b"Traceback", r.stderr)


def valid_cpu_with(mutate):
    b = valid_cpu()
    mutate(b)
    return b


P10 = 10000000   # 100 Hz


def handmade():
    """The profile used for summary/shares math (period 10 ms)."""
    b = Builder(period=P10)
    b.mapping(1, 0x400000, 0x500000, 0x1000, "/usr/bin/app", "b1d")
    b.loc(1, ["main"], 0x401000, 1)
    b.loc(2, ["run"], 0x401100, 1)
    b.loc(3, ["hot_a"], 0x401200, 1)
    b.loc(4, ["hot_b"], 0x401300, 1)
    b.loc(5, ["inl_inner", "inl_outer"], 0x401400, 1)  # inner inlined in outer
    b.loc(6, [], 0x401234, 1)                          # unsymbolized
    b.loc(7, ["do_syscall_64"], 0xffffffff81000000)    # kernel frame
    b.sample([3, 2, 1], 3, pid=100, comm="app")
    b.sample([4, 2, 1], 1, pid=100, comm="app")
    b.sample([7, 3, 2, 1], 2, pid=100, comm="app")
    b.sample([5, 1], 1, pid=200, comm="other")
    b.sample([6, 2, 1], 1, pid=200, comm="other", span_id="00000000000000ff")
    b.sample([3, 2], 2, pid=100, comm="app")
    return b


class SummaryTest(unittest.TestCase):

    def test_stacks(self):
        st = pprof_check.stacks(handmade().p)
        self.assertEqual([x["frames"] for x in st], [
            ["main", "run", "hot_a"],
            ["main", "run", "hot_b"],
            ["main", "run", "hot_a", "do_syscall_64"],
            ["main", "inl_outer", "inl_inner"],
            ["main", "run", "app+0x2234"],
            ["run", "hot_a"],
        ])
        self.assertEqual([x["count"] for x in st], [3, 1, 2, 1, 1, 2])
        self.assertEqual(st[0]["value"], 3 * P10)
        self.assertEqual(st[0]["labels"], {"pid": 100, "comm": "app"})
        self.assertEqual(st[4]["labels"]["span_id"], "00000000000000ff")

    def test_summary(self):
        s = pprof_check.summary(handmade().p)
        self.assertEqual(s["period"], P10)
        self.assertEqual(s["sample_type"], ["cpu/nanoseconds"])
        self.assertEqual(s["total_value"], 10 * P10)
        self.assertEqual(s["total_samples"], 10)
        self.assertEqual(s["mappings"], [{
            "id": 1, "start": 0x400000, "limit": 0x500000, "offset": 0x1000,
            "filename": "/usr/bin/app", "build_id": "b1d"}])
        self.assertEqual(len(s["stacks"]), 6)
        f = pprof_check.summary(handmade().p, labels=["pid=200"])
        self.assertEqual(f["total_samples"], 2)
        self.assertEqual(len(f["stacks"]), 2)
        f = pprof_check.summary(handmade().p, labels=["comm=app", "pid=100"])
        self.assertEqual(f["total_samples"], 8)

    def test_shares(self):
        p = handmade().p
        r = pprof_check.shares(p, funcs=["hot_a", "hot_b", "main", "run"],
                               paths=["main,run,hot_a", "run,hot_a",
                                      "main,hot_a"], pid=100)
        self.assertEqual(r["total"], 8)
        self.assertAlmostEqual(r["self"]["hot_a"], 5 / 8)
        self.assertAlmostEqual(r["self"]["hot_b"], 1 / 8)
        self.assertAlmostEqual(r["self"]["main"], 0.0)
        self.assertAlmostEqual(r["inclusive"]["hot_a"], 7 / 8)
        self.assertAlmostEqual(r["inclusive"]["main"], 6 / 8)
        self.assertAlmostEqual(r["inclusive"]["run"], 1.0)
        self.assertAlmostEqual(r["paths"]["main,run,hot_a"], 5 / 8)
        self.assertAlmostEqual(r["paths"]["run,hot_a"], 7 / 8)
        self.assertAlmostEqual(r["paths"]["main,hot_a"], 0.0)
        r = pprof_check.shares(p, funcs=["hot_a"], pid=100,
                               skip_leaf=[r"^do_syscall", r"^entry_"])
        self.assertAlmostEqual(r["self"]["hot_a"], 7 / 8)
        r = pprof_check.shares(p, funcs=["inl_inner", "inl_outer"],
                               paths=["main,inl_outer,inl_inner"])
        self.assertEqual(r["total"], 10)
        self.assertAlmostEqual(r["self"]["inl_inner"], 0.1)
        self.assertAlmostEqual(r["self"]["inl_outer"], 0.0)
        self.assertAlmostEqual(r["inclusive"]["inl_outer"], 0.1)
        self.assertAlmostEqual(r["paths"]["main,inl_outer,inl_inner"], 0.1)
        r = pprof_check.shares(p, funcs=["hot_a"], labels=["pid=999"])
        self.assertEqual(r["total"], 0)
        self.assertEqual(r["self"]["hot_a"], 0.0)

    def test_cli(self):
        data = gzip.compress(handmade().p.SerializeToString())
        with tempfile.NamedTemporaryFile(suffix=".pb.gz") as f:
            f.write(data)
            f.flush()

            def run(*args, stdin=None):
                return subprocess.run(
                    [sys.executable, SCRIPT] + list(args),
                    input=stdin, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE)
            r = run("validate", "--cpu-hz", "100", f.name)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertTrue(r.stdout.startswith(b"ok"), r.stdout)
            r = run("validate", "--cpu-hz", "99", f.name)
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"cpu_period:", r.stdout)
            r = run("summary", "--label", "pid=200", "-", stdin=data)
            self.assertEqual(r.returncode, 0, r.stderr)
            s = json.loads(r.stdout)
            self.assertEqual(s["total_samples"], 2)
            self.assertEqual(s["stacks"][1]["frames"],
                             ["main", "run", "app+0x2234"])
            r = run("shares", "--pid", "100", "--func", "hot_a",
                    "--skip-leaf", "^do_syscall", "--path", "main,run,hot_a",
                    f.name)
            self.assertEqual(r.returncode, 0, r.stderr)
            s = json.loads(r.stdout)
            self.assertEqual(s["total"], 8)
            self.assertAlmostEqual(s["self"]["hot_a"], 7 / 8)
            self.assertAlmostEqual(s["paths"]["main,run,hot_a"], 5 / 8)
            r = run("validate", "/nonexistent/file")
            self.assertEqual(r.returncode, 2)

    def test_protoc_missing(self):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, PATH="/nonexistent",
                       PPROF_CHECK_CACHE=cache)
            r = subprocess.run([sys.executable, SCRIPT, "validate", "-"],
                               input="", env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("protoc not found", r.stderr)


def _main():
    suite = unittest.defaultTestLoader.loadTestsFromModule(
        sys.modules[__name__])
    res = unittest.TextTestRunner(verbosity=1).run(suite)
    failed = len(res.failures) + len(res.errors) + \
        len(res.unexpectedSuccesses)
    passed = res.testsRun - failed - len(res.skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(_main())
