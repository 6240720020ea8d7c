#!/usr/bin/python3
"""End-to-end tests of what an unprivileged process (user nobody) can make the agent do with
the files it controls: a JIT perf map planted as a symbolic link to a root-only file, or a map
owned by another user, must not become frame names (perf refuses such maps too), while the
process is still profiled and its own map still names its JIT code. Needs root; fails loudly
without it. Ends with "N passed, N failed"."""
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from harness import (FIX, STOKER, check, load_profile, need, pprof_check, profile_pid, run, start,
                     stop)

TMP = tempfile.mkdtemp(prefix="stoker-security-")
HZ = 99
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]


def jit_mapping(pid, timeout=5.0):
    """(start, end) of the fixture's anonymous executable mapping, once it exists."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open("/proc/%d/maps" % pid) as f:
            for line in f:
                m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) r-xp \S+ 00:00 0\s*$", line)
                if m:
                    return int(m.group(1), 16), int(m.group(2), 16)
        time.sleep(0.05)
    raise AssertionError("no anonymous executable mapping in pid %d" % pid)


def as_nobody(*argv):
    r = subprocess.run(AS_NOBODY + list(argv), capture_output=True, text=True)
    check(r.returncode == 0, "as nobody: %s (%s)" % (" ".join(argv), r.stderr.strip()))


def profile_jit(plant, name):
    """Runs the JIT fixture as nobody, lets plant(pid, map_path, line_for(name)) put a perf map
    in place, and profiles it. Returns (stacks, agent stderr)."""
    need("setpriv")
    fx = start(AS_NOBODY + [os.path.join(FIX, "unwind_cases-nofp"), "jit", "30"])
    path = None
    try:
        lo, hi = jit_mapping(fx.pid)
        path = "/tmp/perf-%d.map" % fx.pid
        check(os.stat("/proc/%d" % fx.pid).st_uid == pwd.getpwnam("nobody").pw_uid,
              "the fixture runs as nobody (pid %d)" % fx.pid)
        plant(fx.pid, path, "%x %x %s\n" % (lo, hi - lo, name))
        prof, r = profile_pid(fx.pid, os.path.join(TMP, "%d.pb.gz" % fx.pid), 3, HZ,
                              timeout=120, problems_shown=3)
    finally:
        stop(fx)
        if path and os.path.lexists(path):
            os.unlink(path)
    return pprof_check.stacks(prof), r.stderr


def root_only_file(text):
    fd, secret = tempfile.mkstemp(prefix="stoker-secret-", dir="/tmp")
    os.write(fd, text.encode())
    os.close(fd)
    os.chmod(secret, 0o600)
    os.chown(secret, 0, 0)
    return secret


def total(stacks, pred=lambda s: True):
    return sum(s["count"] for s in stacks if pred(s))


def check_refused(stacks, stderr, secret, why):
    n = total(stacks)
    leaked = [s["frames"] for s in stacks if any(secret in f for f in s["frames"])]
    check(not leaked, "no frame is named from the refused map (%s)" % leaked[:1])
    anon = total(stacks, lambda s: s["frames"][-1].startswith("[anon]"))
    check(n >= 100 and anon >= 0.5 * n,
          "the process is still profiled: %d samples, %d in its unnamed JIT code" % (n, anon))
    said = [ln for ln in stderr.splitlines() if "refusing JIT map" in ln]
    check(said and why in said[0], "the agent says it refused the map: %s (%s)" % (why, said))


def test_perf_map_symlink_to_root_file():
    """A perf map planted as a symlink to a root-only file is not followed."""
    secret_name = "SECRET_NAME_SYMLINK"
    secret = []

    def plant(pid, path, line):
        secret.append(root_only_file(line.replace("SECRET", secret_name)))
        as_nobody("ln", "-s", secret[0], path)

    try:
        stacks, stderr = profile_jit(plant, "SECRET")
    finally:
        for s in secret:
            os.unlink(s)
    check_refused(stacks, stderr, secret_name, "symbolic link")


def test_perf_map_owned_by_root():
    """A regular perf map owned by root, not the process's user, is not read."""
    secret_name = "SECRET_NAME_ROOT_OWNED"

    def plant(pid, path, line):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, line.replace("SECRET", secret_name).encode())
        os.close(fd)
        os.chown(path, 0, 0)

    stacks, stderr = profile_jit(plant, "SECRET")
    check_refused(stacks, stderr, secret_name, "owned by uid 0, not by the process's user "
                  "(uid %d)" % pwd.getpwnam("nobody").pw_uid)


def test_perf_map_of_the_process_user():
    """The process's own map, written as nobody, still names its JIT code."""
    def plant(pid, path, line):
        as_nobody("sh", "-c", 'printf "%s" "$1" > "$2"', "sh", line, path)

    stacks, stderr = profile_jit(plant, "jit_fn_of_nobody")
    n = total(stacks)
    named = total(stacks, lambda s: s["frames"][-1] == "jit_fn_of_nobody")
    check(n >= 100 and named >= 0.5 * n,
          "%d of %d samples name the JIT leaf from the process's own map" % (named, n))
    said = [ln for ln in stderr.splitlines() if "refusing JIT map" in ln]
    check(not said, "nothing refused (%s)" % said)


# A CIE whose FDEs name their code by absolute 4-byte addresses, then FDEs: a shared object
# whose call frame information says whatever the attacker wants (gcc -shared -nostdlib).
CFI_HEAD = """\t.text\n\t.globl hostile_fn\nhostile_fn:\n\tret\n
\t.section .eh_frame,"a",@progbits
cie:\t.long cie_end - cie_start
cie_start:\t.long 0\n\t.byte 1\n\t.string "zR"\n\t.uleb128 1\n\t.sleb128 -8\n\t.uleb128 16
\t.uleb128 1\n\t.byte 0x03\n\t.byte 0x0c, 7, 8\n\t.byte 0x90, 1\n\t.balign 8, 0
cie_end:
"""


def cfi_fde(i, pc, length, body):
    return ("fde%d:\t.long fde%d_end - fde%d_start\nfde%d_start:\t.long fde%d_start - cie\n"
            "\t.long %#x\n\t.long %#x\n\t.uleb128 0\n%s\t.balign 8, 0\nfde%d_end:\n"
            % (i, i, i, i, i, pc, length, body, i))


def hostile_so(name, fdes):
    """build a shared object in a directory nobody can read, with these FDEs; returns its path"""
    need("gcc")
    d = os.path.join(TMP, "lib")
    os.makedirs(d, exist_ok=True)
    os.chmod(TMP, 0o755)
    os.chmod(d, 0o755)
    src, so = os.path.join(d, name + ".S"), os.path.join(d, name + ".so")
    with open(src, "w") as f:
        f.write(CFI_HEAD + "".join(fdes) + "\t.long 0\n")
    r = subprocess.run(["gcc", "-shared", "-nostdlib", "-fno-asynchronous-unwind-tables", "-o",
                        so, src], capture_output=True, text=True)
    check(r.returncode == 0, "hostile %s builds (%s)" % (name, r.stderr.strip()[-300:]))
    return so


def free_port():
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def metric(port, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        for ln in r.read().decode().splitlines():
            if ln.startswith(name + " "):
                return float(ln.split()[1])
    return None


def run_system_wide(name, attacker, victim=None, settle=3, attack=4, watch=4, port=None,
                    before_stop=None):
    """The agent system-wide at 99 Hz; after start-up (settle s) the attacker runs for attack
    s, then the victim beside it for watch s; before_stop() runs last. Returns (stacks,
    attacker pid, victim pid, agent stderr)."""
    out, log = os.path.join(TMP, name + ".pb.gz"), os.path.join(TMP, name + ".log")
    args = [STOKER, "--sample-rate", str(HZ), "--output", out]
    if port:
        args += ["--metrics-addr", "127.0.0.1:%d" % port]
    agent = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    procs = []
    try:
        deadline = time.time() + 60
        while "sampling " not in open(log).read() and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(settle)
        procs.append(start(attacker))
        time.sleep(attack)
        if victim:
            procs.append(start(victim))
        time.sleep(watch)
        for p in procs:
            check(p.poll() is None, "%s still runs" % os.path.basename(p.args[len(AS_NOBODY)]))
        if before_stop:
            before_stop()
        agent.send_signal(signal.SIGINT)
        agent.wait(timeout=60)
    finally:
        for p in procs:
            stop(p)
        stop(agent)
    err = open(log).read()
    check(agent.returncode == 0, "agent exits 0 (%s)" % err.strip()[-300:])
    return (pprof_check.stacks(load_profile(out, HZ)), procs[0].pid,
            procs[1].pid if victim else None, err)


def of_pid(stacks, pid):
    return [s for s in stacks if s["labels"].get("pid") == str(pid)]


def test_far_fdes_do_not_crowd_out_python():
    """13 KB objects with two FDEs far apart, mapped by nobody: python3 still unwinds."""
    need("setpriv")
    # The FDEs of each object span 2^k pages of 64 KiB: indexing every page between them, the
    # objects would fill the shared page index greedily, to the last 32 entries, with no room
    # left for python3's 45 pages.
    spans = [16384] * 4 + [1 << k for k in range(13, 4, -1)]
    libs = [hostile_so("far%d" % i, [cfi_fde(1, 0x1000, 0x10, ""),
                                       cfi_fde(2, n << 16, 0x10, "")])
            for i, n in enumerate(spans)]
    check(all(os.path.getsize(p) < 20000 for p in libs), "each object is under 20 KB")
    prog = "import time\nend = time.time() + 30\nx = 0\nwhile time.time() < end:\n" \
           "    for i in range(10000):\n        x = (x * 31 + i) % 1000003\n"
    # a copy of /usr/bin/python3: this test's own interpreter may have had its table loaded
    # before the attack, and a table already loaded needs no room
    python = os.path.join(TMP, "lib", "python3")
    shutil.copy(os.path.realpath("/usr/bin/python3"), python)
    # the agent loads them in address order, the last one opened first: largest first
    stacks, apid, vpid, _ = run_system_wide(
        "far", AS_NOBODY + [os.path.join(FIX, "maplibs"), "30", "hostile_fn"] + libs[::-1],
        AS_NOBODY + [python, "-c", prog], watch=8)
    att, vic = of_pid(stacks, apid), of_pid(stacks, vpid)
    n_att, n_vic = total(att), total(vic)
    in_libs = total(att, lambda s: any(f.startswith("far") or f == "hostile_fn"
                                       for f in s["frames"]))
    check(n_att >= 100 and in_libs > 0, "the attacker is profiled, in its objects too (%d of %d "
          "samples)" % (in_libs, n_att))
    cut = total(vic, lambda s: s["frames"][0].startswith("[truncated"))
    full = total(vic, lambda s: "_start" in s["frames"])
    print("    python3: %d samples, %d reach _start, %d truncated" % (n_vic, full, cut))
    check(n_vic >= 100 and full >= 0.9 * n_vic and cut <= 0.05 * n_vic,
          "python3 beside them unwinds: %d of %d samples reach _start, %d truncated"
          % (full, n_vic, cut))


def test_nop_padded_fdes_cost_bounded_cpu():
    """FDEs of rows padded with DW_CFA_nop: table building is capped, samples keep flowing."""
    need("setpriv")
    # 40 FDEs of 500 rows, each row followed by 60 nops: libdw interprets an FDE from its
    # start up to each row, about 300 MB of CFI in all without a budget
    body = "".join("\t.byte 0x41, 0x0e, %#x\n\t.fill 60, 1, 0\n" % (8 + 8 * (j & 1))
                   for j in range(500))
    lib = hostile_so("nops", [cfi_fde(i, 0x1000 + i * 0x1000, 0x800, body) for i in range(40)])
    r = subprocess.run([STOKER, "unwind-table", lib], capture_output=True, text=True)
    m = re.search(r"(\d+) cut short.*, ([0-9.]+) ms, ([0-9.]+) MiB of CFI interpreted", r.stdout)
    budget = (4 << 20) + 64 * os.path.getsize(lib)
    check(m is not None and int(m.group(1)) == 40 and float(m.group(3)) * (1 << 20) <= budget,
          "built alone, all 40 FDEs are cut short within the file's budget of %.1f MiB (%s)"
          % (budget / (1 << 20), r.stdout.strip()))
    port = free_port()
    found = {}

    def read_counters():
        for k in ("stoker_unwind_fdes_capped_total", "stoker_unwind_build_seconds_total"):
            found[k] = metric(port, k)
    stacks, apid, _, _ = run_system_wide(
        "nops", AS_NOBODY + [os.path.join(FIX, "maplibs"), "30", "hostile_fn", lib],
        port=port, attack=8, watch=0, before_stop=read_counters)
    att = of_pid(stacks, apid)
    capped, build = found["stoker_unwind_fdes_capped_total"], \
        found["stoker_unwind_build_seconds_total"]
    print("    %s FDEs capped, %.2f s building tables in all" % (capped, build or 0))
    check(capped is not None and capped >= 40,
          "the agent cut the padded FDEs short too (%s capped)" % capped)
    check(total(att) >= 200, "samples keep flowing: %d of the attacker's in 8 s" % total(att))


TESTS = [test_perf_map_symlink_to_root_file, test_perf_map_owned_by_root,
         test_perf_map_of_the_process_user, test_far_fdes_do_not_crowd_out_python,
         test_nop_padded_fdes_cost_bounded_cpu]


def main():
    if os.geteuid() != 0:
        print("security tests need root (CAP_BPF, CAP_PERFMON, chown); failing loudly")
    rc = run("security", TESTS, sys.argv[1:])
    shutil.rmtree(TMP, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
