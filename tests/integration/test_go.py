#!/usr/bin/python3
"""End-to-end tests of names on programs the way they ship: Go built with Debian's golang-go
(stripped and not, PIE and not, and one whose section table is gone), Rust built with rustc
(legacy and v0 mangling), and a C program through glibc's versioned symbols. Each runs three
hot functions in a 60/30/10 split; the profile must name them with those shares (5 points),
leave at most 5% of samples ending in an unnamed frame, and (Go) give file:line for them.
The programs are built here, at test time, offline, in a temporary directory."""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (FIX, PACKAGES, check, enough, need, profile_pid, run, share_tolerance,  # noqa: E402
                     start, stop)
import pprof_check  # noqa: E402

UNNAMED_MAX = 0.05
SECONDS = 8
HZ = 299  # ~2400 samples: 5 points are 4 standard deviations of the 60% share
MIN_SAMPLES = 400  # and what the process's CPU time implies (harness.enough)
TMP = tempfile.mkdtemp(prefix="stoker-go-")
PACKAGES.update({"go": "golang-go", "rustc": "rustc", "nm": "binutils"})
UNNAMED = re.compile(r"\+0x[0-9a-f]+$")

GO_SRC = """package main

import (
	"os"
	"strconv"
	"time"
)

var sink uint64

//go:noinline
func hotA(n int) uint64 {
	x := sink
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + uint64(i) // hotA loop
	}
	return x
}

//go:noinline
func hotB(n int) uint64 {
	x := sink
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + uint64(i) // hotB loop
	}
	return x
}

//go:noinline
func hotC(n int) uint64 {
	x := sink
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + uint64(i) // hotC loop
	}
	return x
}

func main() {
	secs := 30
	if len(os.Args) > 1 {
		secs, _ = strconv.Atoi(os.Args[1])
	}
	end := time.Now().Add(time.Duration(secs) * time.Second)
	// each round in a shuffled order: a sampling period that is a multiple of a fixed
	// round would land every sample at the same point of it
	calls := [3]func(){
		func() { sink += hotA(600000) },
		func() { sink += hotB(300000) },
		func() { sink += hotC(100000) },
	}
	r := uint64(88172645463325252)
	for time.Now().Before(end) {
		for i := 2; i > 0; i-- {
			r ^= r << 13
			r ^= r >> 7
			r ^= r << 17
			j := int(r % uint64(i+1))
			calls[i], calls[j] = calls[j], calls[i]
		}
		for _, c := range calls {
			c()
		}
	}
}
"""

RUST_SRC = """use std::time::{Duration, Instant};

static SINK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

// xorshift steps: LLVM cannot fold several iterations into one, so each costs the same
#[inline(never)]
pub fn hot_a(n: u64) -> u64 {
    let mut x = SINK.load(std::sync::atomic::Ordering::Relaxed);
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = x.wrapping_add(1);
    }
    x
}

#[inline(never)]
pub fn hot_b(n: u64) -> u64 {
    let mut x = SINK.load(std::sync::atomic::Ordering::Relaxed);
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = x.wrapping_add(2);
    }
    x
}

#[inline(never)]
pub fn hot_c(n: u64) -> u64 {
    let mut x = SINK.load(std::sync::atomic::Ordering::Relaxed);
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = x.wrapping_add(3);
    }
    x
}

fn main() {
    let secs: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(30);
    let end = Instant::now() + Duration::from_secs(secs);
    // each round in a shuffled order: a sampling period that is a multiple of a fixed round
    // would land every sample at the same point of it
    let mut order = [0usize, 1, 2];
    let mut r: u64 = 88172645463325252;
    while Instant::now() < end {
        for i in (1..3).rev() {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            order.swap(i, (r % (i as u64 + 1)) as usize);
        }
        let mut s = 0u64;
        for k in order {
            s = s.wrapping_add(match k {
                0 => hot_a(600_000),
                1 => hot_b(300_000),
                _ => hot_c(100_000),
            });
        }
        SINK.store(s | 1, std::sync::atomic::Ordering::Relaxed);
    }
}
"""


def sh(cmd, cwd, env=None):
    r = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=600)
    check(r.returncode == 0, "%s builds (%s)" % (" ".join(cmd), r.stdout.strip()[-600:]))


def go_env(root):
    env = dict(os.environ)
    # offline and self-contained: no module downloads, caches in the temporary directory
    env.update({"GOCACHE": os.path.join(root, "cache"), "GOPATH": os.path.join(root, "path"),
                "GOFLAGS": "-mod=mod", "GOPROXY": "off", "GO111MODULE": "on",
                "GOTOOLCHAIN": "local", "CGO_ENABLED": "0", "HOME": root})
    return env


_go_built = {}


def go_binary(variant):
    """Builds (once) the Go fixture as variant: plain, stripped, pie, pie-stripped, or
    pie-stripped without its section table."""
    if variant in _go_built:
        return _go_built[variant]
    need("go")
    src = os.path.join(TMP, "go")
    if not os.path.isdir(src):
        os.makedirs(src)
        with open(os.path.join(src, "main.go"), "w") as f:
            f.write(GO_SRC)
        with open(os.path.join(src, "go.mod"), "w") as f:
            f.write("module goshares\n\ngo 1.16\n")
    out = os.path.join(src, "goshares-" + variant)
    base = variant.replace("-noshdr", "")
    args = ["go", "build", "-o", out]
    if base.startswith("pie"):
        args.append("-buildmode=pie")
    if base.endswith("stripped"):
        args.append("-ldflags=-s -w")
    if variant.endswith("-noshdr"):
        args[3] = out + ".tmp"
    sh(args + ["."], src, go_env(src))
    if variant.endswith("-noshdr"):
        # what some packers and strippers leave: program headers only
        with open(out + ".tmp", "rb") as f:
            img = bytearray(f.read())
        struct.pack_into("<Q", img, 0x28, 0)  # e_shoff
        struct.pack_into("<HH", img, 0x3c, 0, 0)  # e_shnum, e_shstrndx
        with open(out, "wb") as f:
            f.write(img)
        os.chmod(out, 0o755)
        r = subprocess.run(["readelf", "-S", out], stdout=subprocess.PIPE, text=True)
        check("no sections" in r.stdout, "%s has no section table" % os.path.basename(out))
    _go_built[variant] = out
    return out


def profile_program(argv, name, extra=()):
    out = os.path.join(TMP, name + ".pb.gz")
    fx = start(argv)
    try:
        time.sleep(0.5)
        check(fx.poll() is None, "%s runs" % name)
        prof, _ = profile_pid(fx.pid, out, SECONDS, hz=HZ, extra=extra, timeout=90)
    finally:
        stop(fx)
    return prof, fx.pid


def check_shares(prof, pid, funcs):
    sh_ = pprof_check.shares(prof, funcs=funcs, pid=pid)
    total = sh_["total"]
    print("    samples=%d self=%s" % (total, {k: round(v, 3) for k, v in sh_["self"].items()}))
    for fn, want in zip(funcs, (0.60, 0.30, 0.10)):
        got = sh_["self"][fn]
        tol = share_tolerance(want, total)
        check(abs(got - want) <= tol, "%s share %.3f within %.3f of %.2f" % (fn, got, tol, want))
    sts = pprof_check.filter_stacks(prof, pid=pid)
    total_w = sum(x["count"] for x in sts)
    unnamed = [x for x in sts if not x["frames"] or UNNAMED.search(x["frames"][-1])]
    frac = sum(x["count"] for x in unnamed) / total_w if total_w else 1.0
    check(frac <= UNNAMED_MAX, "%.3f of the samples end in an unnamed frame (at most %.2f; %s)"
          % (frac, UNNAMED_MAX, sorted({x["frames"][-1] for x in unnamed})[:5]))
    enough(total, prof, least=MIN_SAMPLES)
    return sts


def source_lines(marker):
    lines = GO_SRC.splitlines()
    body = [i + 1 for i, ln in enumerate(lines) if marker in ln]
    check(len(body) == 1, "the fixture has one line marked %r" % marker)
    return body[0]


def check_go_lines(prof):
    """Every location whose innermost line is main.hotX carries main.go and a line inside
    hotX's body; the loop's own line is the one most samples are at."""
    pb, _, _ = pprof_check._unwrap(prof)
    fns = {f.id: f for f in pb.function}
    strs = pb.string_table
    weights = {s.location_id[0]: 0 for s in pb.sample if s.location_id}
    for s in pb.sample:
        if s.location_id:
            weights[s.location_id[0]] += s.value[0]
    gomaps = [m for m in pb.mapping if "goshares-" in strs[m.filename]]
    check(gomaps and all(m.has_functions and m.has_filenames and m.has_line_numbers
                         for m in gomaps),
          "the Go binary's mapping says it has functions, file names and line numbers")
    for fn in ("hotA", "hotB", "hotC"):
        loop = source_lines("// %s loop" % fn)
        start_line = loop - 3
        seen, at_loop, total, bad = 0, 0, 0, []
        for loc in pb.location:
            if not loc.line:
                continue
            f = fns[loc.line[0].function_id]
            if strs[f.name] != "main." + fn:
                continue
            seen += 1
            fname, line = strs[f.filename], loc.line[0].line
            if not fname.endswith("/main.go") or not start_line <= line <= loop + 3:
                bad.append("0x%x %s:%d" % (loc.address, fname, line))
            w = weights.get(loc.id, 0)
            total += w
            at_loop += w if line in (loop - 1, loop) else 0
        check(not bad, "main.%s's locations are in main.go lines %d-%d (not: %s)"
              % (fn, start_line, loop + 3, bad[:5]))
        check(seen > 0, "main.%s has locations with file and line" % fn)
        check(total and at_loop / total >= 0.8,
              "main.%s: %.2f of its samples at the loop's lines %d-%d of main.go"
              % (fn, at_loop / total if total else 0, loop - 1, loop))


def go_case(variant):
    prof, pid = profile_program([go_binary(variant), "30"], "go-" + variant)
    check_go_lines(prof)
    check_shares(prof, pid, ["main.hotA", "main.hotB", "main.hotC"])


def test_go_plain():
    """Go, not stripped: main.hotA/B/C 60/30/10, file:line from Go's table."""
    go_case("plain")


def test_go_stripped():
    """Go built with -ldflags='-s -w': named from .gopclntab alone."""
    go_case("stripped")


def test_go_pie():
    """Go built -buildmode=pie: its table is .data.rel.ro.gopclntab."""
    go_case("pie")


def test_go_pie_stripped():
    """Go PIE stripped: names and lines from .data.rel.ro.gopclntab."""
    go_case("pie-stripped")


def test_go_no_section_table():
    """Go PIE stripped with its section table removed: the table found by its header."""
    need("readelf")
    go_case("pie-stripped-noshdr")


def rust_binary(mangling):
    need("rustc")
    src = os.path.join(TMP, "rust")
    os.makedirs(src, exist_ok=True)
    path = os.path.join(src, "rs_shares.rs")
    with open(path, "w") as f:
        f.write(RUST_SRC)
    out = os.path.join(src, "rs_shares-" + mangling)
    args = ["rustc", "-O", "-o", out, path]
    if mangling == "v0":
        args[2:2] = ["-C", "symbol-mangling-version=v0"]
    sh(args, src)
    need("nm")
    syms = subprocess.run(["nm", out], stdout=subprocess.PIPE, text=True).stdout
    want = "_RNvCs" if mangling == "v0" else "_ZN9rs_shares5hot_a17h"
    check(any(want in ln and "hot_a" in ln for ln in syms.splitlines()),
          "rustc wrote hot_a %s-mangled (%s...)" % (mangling, want))
    return out


def rust_case(mangling):
    prof, pid = profile_program([rust_binary(mangling), "30"], "rust-" + mangling)
    sts = check_shares(prof, pid, ["rs_shares::hot_a", "rs_shares::hot_b", "rs_shares::hot_c"])
    names = {f for x in sts for f in x["frames"]}
    raw = sorted(n for n in names if n.startswith(("_R", "_ZN")) or
                 re.search(r"::h[0-9a-f]{16}$", n))
    check(not raw, "no name is mangled or ends in a hash (%s)" % raw[:5])


def test_rust_legacy():
    """Rust, legacy mangling: rs_shares::hot_a etc. without their ::h<hash>."""
    rust_case("legacy")


def test_rust_v0():
    """Rust, v0 mangling: names demangled."""
    rust_case("v0")


def test_c_unversioned():
    """A C program's libc frames are named without the symbol version (__libc_start_main).
    From the symbol table: with libc6-dbg, DWARF names the function __libc_start_main_impl."""
    prof, pid = profile_program([os.path.join(FIX, "shares"), "30"], "c-shares",
                                ["--lines=false"])
    names = {f for x in pprof_check.filter_stacks(prof, pid=pid) for f in x["frames"]}
    check("__libc_start_main" in names, "__libc_start_main is a frame (%s)"
          % sorted(n for n in names if "libc" in n))
    versioned = sorted(n for n in names if "@" in n)
    check(not versioned, "no name carries a symbol version (%s)" % versioned[:5])


TESTS = [test_go_plain, test_go_stripped, test_go_pie, test_go_pie_stripped,
         test_go_no_section_table, test_rust_legacy, test_rust_v0, test_c_unversioned]


def main():
    try:
        return run("go", TESTS, sys.argv[1:])
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
