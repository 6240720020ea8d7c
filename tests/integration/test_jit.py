#!/usr/bin/python3
"""End-to-end tests of JIT frames with real runtimes, each running three hot functions in a
60/30/10 split: Node with --perf-basic-prof (its perf map grows after the agent first reads it, so
the agent must read the appended lines), and Java 17 with -XX:+PreserveFramePointer, whose map
the agent asks the JVM for (--java-perfmap, no jcmd). The three names appear with shares within 5
points of 60/30/10. Needs root; fails loudly without it. Ends with "N passed, N failed"."""
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time

from harness import (PACKAGES, check, enough, need, pprof_check, profile_pid, run,
                     share_tolerance, start, stop)

TMP = tempfile.mkdtemp(prefix="stoker-jit-")
HZ = 299  # thousands of hot samples: 5 points are 4 standard deviations of the 60% share
# a frame named by no symbol, map or DWARF: module+offset, [anon]+..., [unknown]
UNNAMED = re.compile(r"\+0x[0-9a-f]+$|^\[(anon|unknown)\]")
SECONDS = 10  # Node: 2.5 s of warm-up first, then the hot functions
JAVA_SECONDS = 12  # a JVM's own threads (compiler, GC) take a share of a loaded machine
WANT = {"hotA": 0.60, "hotB": 0.30, "hotC": 0.10}
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
PACKAGES.update({"node": "nodejs", "java": "openjdk-17-jdk-headless",
                 "javac": "openjdk-17-jdk-headless"})

# The same loop in each function, run 6, 3 and 1 million times per round: the work splits
# 60/30/10. Node runs another function first, so the hot ones join its map after the agent's
# first read. Each function is called a few times a second, so the JIT compiles each on its own
# (on-stack replacement) rather than inlining it into a hot caller.
NODE_SRC = r"""
function hotA(n) { let x = 1; for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 7; x ^= x << 17; } return x; }
function hotB(n) { let x = 2; for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 7; x ^= x << 17; } return x; }
function hotC(n) { let x = 3; for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 7; x ^= x << 17; } return x; }
function warm(n) { let x = 4; for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 7; x ^= x << 17; } return x; }
const start = Date.now(), end = start + 1000 * Number(process.argv[2]);
let sink = 0;
// first only warm: the agent reads the map before the hot functions are compiled into it
while (Date.now() < start + 2500) { sink ^= warm(1e6); }
while (Date.now() < end) { sink ^= hotA(6e6); sink ^= hotB(3e6); sink ^= hotC(1e6); }
console.log(sink);
"""

JAVA_SRC = r"""
public class JavaShares {
    static int hotA(int n) { int x = 1; for (int i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 7; x ^= x << 17; } return x; }
    static int hotB(int n) { int x = 2; for (int i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 7; x ^= x << 17; } return x; }
    static int hotC(int n) { int x = 3; for (int i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 7; x ^= x << 17; } return x; }
    public static void main(String[] args) {
        long end = System.currentTimeMillis() + 1000L * Integer.parseInt(args[0]);
        int sink = 0;
        while (System.currentTimeMillis() < end) { sink ^= hotA(60000000); sink ^= hotB(30000000); sink ^= hotC(10000000); }
        System.out.println(sink);
    }
}
"""


def total(stacks, pred=lambda s: True):
    return sum(s["count"] for s in stacks if pred(s))


def which_hot(frames):
    """The hot function a stack runs in (its innermost one), or None."""
    for f in reversed(frames):
        for name in WANT:
            if re.search(r"\b%s\b" % name, f):
                return name
    return None


def check_shares(stacks, what, prof):
    """Enough samples for the CPU the process got (a loaded host gives it less), most of
    them in the three hot functions by name, at 60/30/10 within 5 points (or 4 standard
    deviations where fewer samples make that wider)."""
    n = {name: total(stacks, lambda s, name=name: which_hot(s["frames"]) == name)
         for name in WANT}
    hot = sum(n.values())
    enough(total(stacks), prof)
    # the rest: start-up and warm-up (compilers, GC), before the hot loop
    check(hot >= 0.5 * total(stacks), "%s: %d samples in the three hot functions by name "
          "(of %d)" % (what, hot, total(stacks)))
    for name, want in WANT.items():
        got, tol = n[name] / max(hot, 1), share_tolerance(want, hot)
        check(abs(got - want) <= tol, "%s: %s has %.2f of the hot samples, want %.2f +- %.3f"
              % (what, name, got, want, tol))
    return hot


def check_named(stacks, what):
    """At most 5% of the process's samples end in a frame nothing named."""
    n = total(stacks)
    bad = [s for s in stacks if not s["frames"] or UNNAMED.search(s["frames"][-1])]
    unnamed = total(bad)
    print("    %s: %d of %d samples end unnamed %s" % (what, unnamed, n,
                                                      sorted({s["frames"][-1] for s in bad})[:4]))
    check(unnamed <= 0.05 * n, "%s: %d of %d samples end in an unnamed frame (at most 5%%)"
          % (what, unnamed, n))


def example_names(stacks):
    return sorted({f for s in stacks for f in s["frames"] if which_hot([f])})[:3]


def test_node_perf_basic_prof():
    """Node --perf-basic-prof: three hot JS functions named, shares within 5 points, at most
    5% of the process's samples end in an unnamed frame."""
    need("node")
    src = os.path.join(TMP, "shares.js")
    with open(src, "w") as f:
        f.write(NODE_SRC)
    fx = start(["node", "--perf-basic-prof", src, str(SECONDS + 30)], cwd=TMP)
    try:
        time.sleep(0.3)
        prof, r = profile_pid(fx.pid, os.path.join(TMP, "node.pb.gz"), SECONDS, HZ,
                              timeout=120)
    finally:
        stop(fx)
        mp = "/tmp/perf-%d.map" % fx.pid
        if os.path.exists(mp):
            os.unlink(mp)
    stacks = pprof_check.stacks(prof)
    print("    names: %s" % example_names(stacks))
    check_shares(stacks, "node", prof)
    check_named(stacks, "node")


def test_java_perfmap():
    """Java 17 (as nobody) with -XX:+PreserveFramePointer and --java-perfmap (no jcmd): the
    three hot methods by name, shares within 5 points, whole stacks, at most 5% of the
    process's samples end in an unnamed frame."""
    need("java", "javac")
    v = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    check(re.search(r'version "17\.', v), "the java on PATH is Debian's OpenJDK 17 (%s)"
          % v.strip().splitlines()[:1])
    src = os.path.join(TMP, "JavaShares.java")
    with open(src, "w") as f:
        f.write(JAVA_SRC)
    r = subprocess.run(["javac", "-d", TMP, src], capture_output=True, text=True)
    check(r.returncode == 0, "javac compiles the fixture (%s)" % r.stderr.strip()[-300:])
    # as nobody, as services run: the trigger file must be nobody's for the JVM to accept it
    need("setpriv")
    os.chmod(TMP, 0o755)
    fx = start(AS_NOBODY + ["java", "-XX:+PreserveFramePointer", "-cp", TMP, "JavaShares",
                            str(JAVA_SECONDS + 40)], cwd="/")
    mp = "/tmp/perf-%d.map" % fx.pid
    try:
        time.sleep(3)  # started and compiled: the map asked for at the first sample has them
        check(not os.path.exists(mp), "the JVM wrote no perf map of its own")
        prof, r = profile_pid(fx.pid, os.path.join(TMP, "java.pb.gz"), JAVA_SECONDS, HZ,
                              extra=["--java-perfmap"], timeout=120)
        check(os.path.exists(mp) and os.stat(mp).st_uid == pwd.getpwnam("nobody").pw_uid,
              "the JVM (as nobody) wrote its perf map when the agent asked")
        left = [f for f in os.listdir("/tmp") if f == ".attach_pid%d" % fx.pid]
        check(not left, "the attach trigger file was removed (%s)" % left)
    finally:
        stop(fx)
        for f in (mp, "/tmp/.java_pid%d" % fx.pid, "/tmp/.attach_pid%d" % fx.pid):
            if os.path.lexists(f):
                os.unlink(f)
    stacks = pprof_check.stacks(prof)
    print("    names: %s" % example_names(stacks))
    hot = check_shares(stacks, "java", prof)
    top = max((s for s in stacks if which_hot(s["frames"])), key=lambda s: s["count"])
    print("    hottest stack: %s" % " <- ".join(reversed(top["frames"])))
    # with -XX:+PreserveFramePointer the walk goes through compiled and interpreted Java
    # frames down to the launcher's JavaMain
    whole = total(stacks, lambda s: which_hot(s["frames"]) and "JavaMain" in s["frames"])
    check(whole >= 0.9 * hot, "java: %d of %d hot samples reach JavaMain" % (whole, hot))
    check_named(stacks, "java")


TESTS = [test_node_perf_basic_prof, test_java_perfmap]


def main():
    if os.geteuid() != 0:
        print("JIT tests need root (CAP_BPF, CAP_PERFMON); failing loudly")
    rc = run("jit", TESTS, sys.argv[1:])
    shutil.rmtree(TMP, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
