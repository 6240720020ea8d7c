"""The small test harness the end-to-end suites share: the repository's paths, running the
agent and validating what it wrote; a failing check raises Failure with what it compared;
run() executes the selected tests, prints ok/not ok per test, and ends with
"<suite>: N passed, N failed". A crash in a test is a failure, never a skip."""
import os
import shutil
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TOOLS = os.path.join(REPO, "tests", "tools")
STOKER = os.path.join(REPO, "build", "stoker")
FIX = os.path.join(REPO, "build", "fixtures")

sys.path.insert(0, TOOLS)
import pprof_check  # noqa: E402
from cpu_watch import CpuWatch, floor as cpu_floor  # noqa: E402
from netutil import free_port  # noqa: E402,F401


def share_tolerance(p, n):
    """How far a share p measured over n samples may stray: 5 points, or 4 standard
    deviations of a binomial share where fewer samples make that wider (a loaded host)."""
    return max(0.05, 4 * (p * (1 - p) / max(n, 1)) ** 0.5)


class Failure(AssertionError):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)
    print("    ok: " + what)


# Debian package of each outside program the suites run (scripts/install-deps.sh installs them)
PACKAGES = {"unshare": "util-linux", "mount": "mount", "capsh": "libcap2-bin",
            "openssl": "openssl", "perf": "linux-perf", "readelf": "binutils", "xz": "xz-utils",
            "bpftool": "bpftool", "protoc": "protobuf-compiler", "strace": "strace",
            "setpriv": "util-linux", "systemd-analyze": "systemd"}


def need(*tools):
    """Fails the test naming each program it runs that is not installed: never a skip, and
    never a confusing failure further on."""
    missing = [t for t in tools if not shutil.which(t)]
    check(not missing, "installed: " + ", ".join(tools) if not missing else
          "not installed: " + ", ".join("%s (Debian package %s)" % (t, PACKAGES.get(t, "?"))
                                        for t in missing) + "; run scripts/install-deps.sh test")


def need_debug_file(path, package):
    """Fails naming the package when path's debug file is not under /usr/lib/debug/.build-id:
    a stripped binary's frames would be unnamed, and the test would fail further on."""
    need("readelf")
    out = subprocess.run(["readelf", "-n", path], stdout=subprocess.PIPE, text=True).stdout
    bid = "".join(ln.split("Build ID:")[1].strip() for ln in out.splitlines()
                  if "Build ID:" in ln)
    debug = "/usr/lib/debug/.build-id/%s/%s.debug" % (bid[:2], bid[2:])
    check(len(bid) >= 40 and os.path.exists(debug), "debug symbols of %s installed (%s; "
          "Debian package %s)" % (path, debug, package))


def start(cmd, **kw):
    """A fixture process whose output nobody reads."""
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def stop(p):
    if p.poll() is None:
        p.kill()
    p.wait()


def run_agent(args, timeout=60):
    """Runs build/stoker with args to its end; returns the CompletedProcess (text output)."""
    return subprocess.run([STOKER] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout)


def check_agent_ok(r, tail=400):
    check(r.returncode == 0, "agent exits 0 (stderr: %s)" % r.stderr.strip()[-tail:])


def load_profile(path, hz, problems_shown=5):
    """Decodes the pprof file at path and checks it passes strict validation."""
    prof = pprof_check.load(path)
    problems = pprof_check.validate(prof, cpu_hz=hz)
    check(not problems, "profile %s passes strict validation (%s)" %
          (os.path.basename(path), "; ".join(problems[:problems_shown])))
    return prof


def profile_pid(pid, out, seconds, hz=99, extra=(), timeout=60, problems_shown=5):
    """Profiles one process for seconds into out; checks the agent exits 0 and the profile
    passes strict validation. Returns (profile, agent result); the profile's .implied is how
    many samples the process's CPU time over the profile's span implies, for floors that
    hold on a loaded host (cpu_watch), or None when the process ended before the agent."""
    watch = CpuWatch(pid)
    try:
        r = run_agent(["--pid", str(pid), "--duration", "%ds" % seconds, "--sample-rate",
                       str(hz), "--output", out] + list(extra), timeout=timeout)
    finally:
        watch.stop()
    check_agent_ok(r)
    prof = load_profile(out, hz, problems_shown)
    t0 = prof.pb.time_nanos
    try:
        prof.implied = watch.cpu_seconds(t0, t0 + prof.pb.duration_nanos) * hz
    except AssertionError:  # not watched over the whole span: it exited
        prof.implied = None
    return prof, r


def profile_fixture(argv, out, seconds, hz=99, extra=(), settle=0.3, timeout=60):
    """Starts build/fixtures/argv[0] with the rest of argv, lets it settle, profiles it with
    profile_pid and stops it. Returns (profile, fixture process, agent result)."""
    fx = start([os.path.join(FIX, argv[0])] + [str(a) for a in argv[1:]])
    try:
        time.sleep(settle)
        prof, r = profile_pid(fx.pid, out, seconds, hz, extra, timeout)
    finally:
        stop(fx)
    return prof, fx, r


def enough(n, prof, least=30):
    """At least the floor the process's CPU time sets (cpu_watch), and least: samples for
    a share to mean something."""
    floor_n = cpu_floor(prof.implied) if prof.implied is not None else least
    check(n >= max(floor_n, least), "%d samples, at least %.0f (%.0f implied by the process's "
          "CPU time)" % (n, max(floor_n, least), prof.implied or 0))


def run(suite, tests, only=()):
    """Runs tests (all, or those named in only); returns the process exit code."""
    passed = failed = 0
    for t in tests:
        if only and t.__name__ not in only:
            continue
        print("-- " + t.__name__ + ": " + (t.__doc__ or "").strip().splitlines()[0])
        t0 = time.time()
        try:
            t()
            passed += 1
            print("ok - %s (%.1fs)" % (t.__name__, time.time() - t0))
        except Exception as e:
            failed += 1
            if not isinstance(e, Failure):
                traceback.print_exc(file=sys.stdout)
            print("not ok - %s: %s" % (t.__name__, e))
    print("%s: %d passed, %d failed" % (suite, passed, failed))
    return 1 if failed else 0
