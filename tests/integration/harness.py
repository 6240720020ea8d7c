"""The small test harness the end-to-end suites share: the repository's paths, running the
agent and validating what it wrote; a failing check raises Failure with what it compared;
run() executes the selected tests, prints ok/not ok per test, and ends with
"<suite>: N passed, N failed". A crash in a test is a failure, never a skip."""
import os
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


class Failure(AssertionError):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)
    print("    ok: " + what)


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
