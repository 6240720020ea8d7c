#!/usr/bin/python3
"""End-to-end tests of Python frames: Debian's python3.11 (/usr/bin/python3) profiled by the
real BPF sampler; its functions come out by name with file:line, merged with the native stack
in place of the interpreter's eval loop. Needs root; fails loudly without it. Ends with
"N passed, N failed".
"""
import os
import re
import subprocess
import shutil
import sys
import tempfile
import time

from harness import (REPO, check, enough, need, profile_pid, run, run_agent, start, stop)
import pprof_check  # noqa: E402  (in tests/tools, which harness puts on the path)

TMP = tempfile.mkdtemp(prefix="stoker-python-")
HZ = 199
PY = "/usr/bin/python3"
FIXTURES = os.path.join(REPO, "tests", "fixtures")


def total(stacks, pred=lambda s: True):
    return sum(s["count"] for s in stacks if pred(s))


def def_lines(path):
    """{function: (first line of its def, last line of its body)} of a fixture's source."""
    out, name, first, last = {}, None, 0, 0
    with open(path) as f:
        for no, line in enumerate(f, 1):
            m = re.match(r"^def (\w+)\(", line)
            if m or (line.strip() and not line[0].isspace() and name):
                if name:
                    out[name] = (first, last)
                name = None
            if m:
                name, first, last = m.group(1), no, no
            elif name and line.strip():
                last = no
    if name:
        out[name] = (first, last)
    return out


def lines_of(prof, function):
    """(file name, line) pairs the profile gives function's frames."""
    pb = prof.pb
    fids = {f.id: f for f in pb.function if pb.string_table[f.name] == function}
    out = set()
    for loc in pb.location:
        for ln in loc.line:
            if ln.function_id in fids:
                out.add((pb.string_table[fids[ln.function_id].filename], ln.line))
    return out


def profile_python(script, name, seconds, run_for=60):
    path = os.path.join(FIXTURES, script)
    fx = start([PY, path, str(run_for)])
    try:
        time.sleep(1.5)  # past the calibration: the split holds from here
        prof, r = profile_pid(fx.pid, os.path.join(TMP, name + ".pb.gz"), seconds, HZ,
                              timeout=120)
    finally:
        stop(fx)
    return prof, r, path


def check_python_line(r):
    m = re.search(r"python: (\d+) stacks walked, (\d+) frames.*; (\d+) processes walked", r.stderr)
    check(m is not None, "exit summary has a python line (%s)" %
          (m.group(0) if m else r.stderr.strip()[-300:]))
    check(int(m.group(3)) == 1 and int(m.group(1)) > 0,
          "one Python process walked, %s stacks" % m.group(1))


def test_shares_and_lines():
    """Three Python functions at 60/30/10 (one in zlib): names, file:line, shares, native frames."""
    prof, r, path = profile_python("py_shares.py", "shares", 10)
    check_python_line(r)
    stacks = pprof_check.stacks(prof)
    n = total(stacks)
    enough(n, prof)
    in_main = total(stacks, lambda s: "main" in s["frames"])
    check(in_main >= 0.9 * n, "%d of %d samples run the Python function main" % (in_main, n))
    for fn, want in (("hot", 0.60), ("warm", 0.30), ("cold", 0.10)):
        got = total(stacks, lambda s: fn in s["frames"]) / in_main
        check(abs(got - want) <= 0.05, "%s share %.3f within 0.05 of %.2f" % (fn, got, want))
    # the eval loop's native frames are replaced, the others stay around the Python ones
    below = total(stacks, lambda s: "main" in s["frames"] and
                  "Py_RunMain" in s["frames"][:s["frames"].index("<module>")])
    check(below >= 0.9 * in_main, "%d of %d samples have Py_RunMain below <module>" %
          (below, in_main))
    # and the program's start below that: python3.11's main is one jmp to Py_BytesMain (a
    # tail call, so no main frame exists, for perf either), which libc's start called
    start = ["__libc_start_call_main", "Py_BytesMain", "Py_RunMain"]
    native = total(stacks, lambda s: "Py_RunMain" in s["frames"] and
                   s["frames"][s["frames"].index("Py_RunMain") - 2:][:3] == start)
    check(native >= 0.9 * in_main, "%d of %d samples have %s below <module>" %
          (native, in_main, " <- ".join(reversed(start))))
    evals = total(stacks, lambda s: "main" in s["frames"] and
                  "_PyEval_EvalFrameDefault" in s["frames"])
    check(evals == 0, "no _PyEval_EvalFrameDefault frame left among them (%d samples)" % evals)
    # --pid processes are registered before sampling starts: all but races have Python frames
    unwalked = total(stacks, lambda s: "_PyEval_EvalFrameDefault" in s["frames"])
    check(unwalked <= 0.02 * n, "%d of %d samples keep the eval loop without Python frames" %
          (unwalked, n))
    cold = [s for s in stacks if "squeeze" in s["frames"]]
    zlib_above = total(cold, lambda s: any(f.startswith("deflate") for f in
                                           s["frames"][s["frames"].index("squeeze"):]))
    check(zlib_above >= 0.7 * total(cold), "%d of %d squeeze() samples show zlib's deflate above "
          "squeeze" % (zlib_above, total(cold)))
    check(total(cold) >= 0.8 * total(stacks, lambda s: "cold" in s["frames"]),
          "cold() spends its time in squeeze")
    spins = [s for s in stacks if "spin" in s["frames"]]
    order = total(spins, lambda s: s["frames"][s["frames"].index("spin") - 1] in ("hot", "warm"))
    check(order == total(spins), "spin runs right above hot or warm in %d of %d samples" %
          (order, total(spins)))
    src = def_lines(path)
    base = os.path.basename(path)
    for fn in ("main", "hot", "warm", "cold", "spin", "squeeze"):
        got = lines_of(prof, fn)
        lo, hi = src[fn]
        check(got and all(f.endswith(base) and lo <= ln <= hi for f, ln in got),
              "%s at %s lines %d-%d: %s" % (fn, base, lo, hi, sorted(got)))
    for fn in ("hot", "warm", "cold"):  # one line each: the call they spend their time in
        got = {ln for _, ln in lines_of(prof, fn)}
        check(got == {src[fn][1]}, "%s: only line %d (%s)" % (fn, src[fn][1], sorted(got)))


def test_frame_pointer_mode():
    """--unwind fp, which cannot cross python3.11's frames: the Python frames still show."""
    fx = start([PY, os.path.join(FIXTURES, "py_shares.py"), "60"])
    try:
        time.sleep(1.5)
        prof, r = profile_pid(fx.pid, os.path.join(TMP, "fp.pb.gz"), 5, HZ,
                              extra=["--unwind", "fp"], timeout=120)
    finally:
        stop(fx)
    m = re.search(r"(\d+) at the root of a cut native stack", r.stderr)
    check(m is not None and int(m.group(1)) > 0, "the exit summary counts frames put at the root "
          "(%s)" % (m.group(0) if m else r.stderr.strip()[-300:]))
    stacks = pprof_check.stacks(prof)
    n = total(stacks)
    named = total(stacks, lambda s: "main" in s["frames"] and
                  any(f in s["frames"] for f in ("hot", "warm", "cold")))
    enough(n, prof)
    check(named >= 0.9 * n, "%d of %d samples show main and hot, warm or cold" %
          (named, n))


def test_threads():
    """Two Python threads: each thread's samples show its own Python stack."""
    prof, r, _ = profile_python("py_threads.py", "threads", 6)
    check_python_line(r)
    stacks = pprof_check.stacks(prof)
    for comm, mine, other in (("py-alpha", "alpha_work", "beta_work"),
                              ("py-beta", "beta_work", "alpha_work")):
        ss = [s for s in stacks if s["labels"].get("comm") == comm]
        n = total(ss)
        # anywhere in the stack: a thread waiting for the GIL has native and kernel frames
        # above its Python function
        own = total(ss, lambda s: s["frames"].count(mine) == 1 and other not in s["frames"]
                    and "Thread.run" in s["frames"] and "Thread._bootstrap" in s["frames"])
        check(n >= 50, "%s: at least 50 samples (got %d)" % (comm, n))
        check(own >= 0.9 * n, "%s: %d of %d samples show Thread._bootstrap>...>Thread.run>%s>%s only" %
              (comm, own, n, comm.split("-")[1], mine))


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def test_pid_namespace():
    """Python in its own pid namespace (a container's): its threads are still walked."""
    need("unshare")
    # no --mount-proc: it makes / private, which fails where / is not a mount point (a chroot);
    # the interpreter's thread ids are its namespace's either way
    us = start(["unshare", "--pid", "--fork", PY, os.path.join(FIXTURES, "py_threads.py"), "30"])
    try:
        time.sleep(1.5)
        kids = children(us.pid)
        check(len(kids) == 1, "the interpreter runs under unshare (%s)" % kids)
        with open("/proc/%d/status" % kids[0]) as f:
            nspid = [ln.split()[1:] for ln in f if ln.startswith("NSpid:")][0]
        check(len(nspid) == 2 and nspid[1] == "1", "it is pid 1 of its namespace (%s)" % nspid)
        prof, r = profile_pid(kids[0], os.path.join(TMP, "ns.pb.gz"), 5, HZ, timeout=120)
    finally:
        stop(us)
    check_python_line(r)
    m = re.search(r"python: (\d+) stacks walked, \d+ frames, \d+ cut short, (\d+) failed",
                  r.stderr)
    check(int(m.group(2)) == 0, "no walk failed (%s)" % m.group(0))
    stacks = pprof_check.stacks(prof)
    n = total(stacks)
    own = total(stacks, lambda s: ("alpha_work" in s["frames"]) != ("beta_work" in s["frames"]))
    enough(n, prof)
    check(own >= 0.8 * n, "%d of %d samples show alpha_work or beta_work" % (own, n))


def test_deeper_than_the_limit():
    """Recursion past the frames walked per sample: the innermost frames, then a marker."""
    prof, r, _ = profile_python("py_deep.py", "deep", 4)
    m = re.search(r"python: (\d+) stacks walked, \d+ frames, (\d+) cut short", r.stderr)
    check(m is not None and int(m.group(2)) >= 0.9 * int(m.group(1)) > 0,
          "the exit summary counts the cut stacks (%s)" % (m.group(0) if m else "no line"))
    stacks = pprof_check.stacks(prof)
    n = total(stacks)
    mark = "[truncated: deeper Python stack]"
    ok = total(stacks, lambda s: mark in s["frames"] and "leaf" in s["frames"] and
               s["frames"][s["frames"].index(mark) + 1:s["frames"].index("leaf")] ==
               ["recurse"] * 95)
    enough(n, prof)
    check(ok >= 0.9 * n, "%d of %d samples: marker, 95 recurse frames, leaf" %
          (ok, n))


def test_native_process_unaffected():
    """A process that is not Python: no Python line, no Python frames, native names as before."""
    fx = start([os.path.join(REPO, "build", "fixtures", "shares"), "30"])
    try:
        time.sleep(0.3)
        prof, r = profile_pid(fx.pid, os.path.join(TMP, "native.pb.gz"), 4, HZ)
    finally:
        stop(fx)
    check("python:" not in r.stderr, "no python line in the exit summary")
    stacks = pprof_check.stacks(prof)
    n = total(stacks)
    hot = total(stacks, lambda s: "main" in s["frames"] and
                any(f in ("hot_a", "hot_b", "hot_c") for f in s["frames"]))
    enough(n, prof)
    check(hot >= 0.9 * n, "%d of %d samples in main>...>hot_X" % (hot, n))


EMBED_C = r"""
/* An application embedding CPython through libpython3.11.so (declared here: no headers). */
void Py_Initialize(void);
int PyRun_SimpleString(const char *command);

int main(void)
{
	Py_Initialize();
	return PyRun_SimpleString(
	    "import time\n"
	    "def embedded_hot(stop):\n"
	    "    x = 0\n"
	    "    while time.monotonic() < stop:\n"
	    "        x = (x * 31 + 7) % 1000003\n"
	    "embedded_hot(time.monotonic() + 30)\n");
}
"""


def test_embedded_libpython():
    """A C program embedding libpython3.11.so: found by its symbols, Python frames above main."""
    src, exe = os.path.join(TMP, "py_embed.c"), os.path.join(TMP, "py_embed")
    with open(src, "w") as f:
        f.write(EMBED_C)
    r = subprocess.run(["gcc", "-O1", "-o", exe, src, "-l:libpython3.11.so.1.0"],
                       capture_output=True, text=True)
    check(r.returncode == 0, "the embedding program builds (%s)" % r.stderr.strip()[-300:])
    fx = start([exe])
    try:
        time.sleep(1)
        prof, r = profile_pid(fx.pid, os.path.join(TMP, "embed.pb.gz"), 5, HZ, timeout=120)
    finally:
        stop(fx)
    check_python_line(r)
    stacks = pprof_check.stacks(prof)
    n = total(stacks)
    ok = total(stacks, lambda s: "embedded_hot" in s["frames"] and "main" in s["frames"] and
               s["frames"].index("main") < s["frames"].index("PyRun_SimpleStringFlags") <
               s["frames"].index("<module>") < s["frames"].index("embedded_hot"))
    enough(n, prof)
    check(ok >= 0.9 * n, "%d of %d samples run main>PyRun_SimpleStringFlags>"
          "<module>>embedded_hot" % (ok, n))


def test_check_counts_python():
    """stoker check counts the running Python processes, by version."""
    def count():
        r = run_agent(["check"])
        m = re.search(r"python +(\d+) of (\d+) processes run CPython: (\d+) 3\.11", r.stdout)
        check(m is not None, "stoker check has a python line (%s)" % r.stdout.strip()[-400:])
        return int(m.group(3))
    fxs = [start([PY, os.path.join(FIXTURES, "py_threads.py"), "30"]) for _ in range(2)]
    try:
        time.sleep(1)
        with_two = count()
    finally:
        for fx in fxs:
            stop(fx)
    without = count()
    check(with_two - without >= 2, "two more CPython 3.11 processes counted while they run "
          "(%d, then %d)" % (with_two, without))


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("test_python: needs root (real BPF)")
        print("python: 0 passed, 1 failed")
        sys.exit(1)
    rc = run("python", [test_shares_and_lines, test_frame_pointer_mode, test_threads,
                        test_pid_namespace, test_deeper_than_the_limit,
                        test_native_process_unaffected,
                        test_embedded_libpython, test_check_counts_python], sys.argv[1:])
    shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(rc)
