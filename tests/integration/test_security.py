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
import subprocess
import sys
import tempfile
import time

from harness import FIX, STOKER, check, need, pprof_check, profile_pid, run, start, stop

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


# The attacker of the "bloat" tests, run as nobody: writes an ELF whose .symtab has NSYMS
# function symbols of 2 bytes (a `jmp .` each, x86-64) all named by one NAME_LEN-byte string,
# maps it executable (whole, or NMAPS single pages at successive offsets) and spins in it.
BLOAT_ATTACKER = r"""
import ctypes, os, struct, sys
path, nsyms, name_len, nmaps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
TEXT = 0x1000
text_size = 2 * nsyms
sym_off = TEXT + ((text_size + 7) & ~7)
sym_size = (nsyms + 1) * 24
str_off, str_size = sym_off + sym_size, name_len + 2
shstr = b"\0.text\0.symtab\0.strtab\0.shstrtab\0"
shstr_off = str_off + str_size
sh_off = (shstr_off + len(shstr) + 7) & ~7
total = sh_off + 5 * 64
b = bytearray(total)
b[0:7] = b"\x7fELF\x02\x01\x01"
struct.pack_into("<HHIQQQIHHHHHH", b, 16, 3, 62, 1, 0, 64, sh_off, 0, 64, 56, 1, 64, 5, 4)
struct.pack_into("<IIQQQQQQ", b, 64, 1, 5, 0, 0, 0, total, total, 0x1000)
b[TEXT:TEXT + text_size] = b"\xeb\xfe" * nsyms
for i in range(nsyms):
    struct.pack_into("<IBBHQQ", b, sym_off + 24 * (i + 1), 1, 0x12, 0, 1, TEXT + 2 * i, 2)
b[str_off + 1:str_off + 1 + name_len] = b"A" * name_len
b[shstr_off:shstr_off + len(shstr)] = shstr
for i, row in enumerate([(1, 1, 6, TEXT, TEXT, text_size, 0, 0, 1, 0),
                         (7, 2, 0, 0, sym_off, sym_size, 3, 1, 8, 24),
                         (15, 3, 0, 0, str_off, str_size, 0, 0, 1, 0),
                         (23, 3, 0, 0, shstr_off, len(shstr), 0, 0, 1, 0)]):
    struct.pack_into("<IIQQQQIIQQ", b, sh_off + 64 * (i + 1), *row)
with open(path, "wb") as f:
    f.write(b)
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                      ctypes.c_long]
fd = os.open(path, os.O_RDONLY)
if nmaps == 0:
    entry = libc.mmap(None, total, 5, 2, fd, 0) + TEXT + 2 * min(777, nsyms - 1)
else:
    for k in range(nmaps):
        a = libc.mmap(None, 4096, 5, 2, fd, 4096 * k)
        if k == 1:
            entry = a + 2 * 7
ctypes.CFUNCTYPE(None)(entry)()
"""


def bloat_attacker(nsyms, name_len, nmaps=0):
    """Starts the attacker as nobody in a directory of its own; returns (process, file)."""
    need("setpriv")
    check(os.uname().machine == "x86_64", "the bloat attacker's code is x86-64 (%s)" %
          os.uname().machine)
    d = tempfile.mkdtemp(prefix="stoker-bloat-", dir="/tmp")
    os.chown(d, pwd.getpwnam("nobody").pw_uid, 0)
    path = os.path.join(d, "bloat.so")
    fx = start(AS_NOBODY + [sys.executable, "-c", BLOAT_ATTACKER, path, str(nsyms),
                            str(name_len), str(nmaps)])
    deadline = time.time() + 30
    while time.time() < deadline and fx.poll() is None:
        with open("/proc/%d/maps" % fx.pid) as f:
            if sum(path in line and " r-xp " in line for line in f) >= max(nmaps, 1):
                break
        time.sleep(0.1)
    check(fx.poll() is None, "the attacker runs (exit %s)" % fx.returncode)
    check(os.stat("/proc/%d" % fx.pid).st_uid == pwd.getpwnam("nobody").pw_uid,
          "the attacker runs as nobody (pid %d)" % fx.pid)
    return fx, path


def vm_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (field, pid))


def profile_with_peak(pids, out, seconds):
    """Profiles pids for seconds into out; returns (stacks, agent stderr, (VmRSS, VmHWM) in KiB
    read from /proc/AGENT/status just before it ends)."""
    agent = subprocess.Popen([STOKER, "--duration", "%ds" % seconds, "--sample-rate", str(HZ),
                              "--output", out] + sum([["--pid", str(p)] for p in pids], []),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(seconds - 1)
    peak = None
    if agent.poll() is None:
        peak = (vm_kib(agent.pid, "VmRSS"), vm_kib(agent.pid, "VmHWM"))
    _, err = agent.communicate(timeout=120)
    check(agent.returncode == 0, "agent exits 0 (stderr: %s)" % err.strip()[-400:])
    check(peak is not None, "the agent ran for the whole profile")
    prof = pprof_check.load(out)
    return pprof_check.stacks(prof), err, peak


def bloat_run(nsyms, victim_pid, tag):
    fx, path = bloat_attacker(nsyms, 4000)
    try:
        stacks, err, peak = profile_with_peak([fx.pid, victim_pid],
                                              os.path.join(TMP, "%s.pb.gz" % tag), 8)
    finally:
        stop(fx)
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)
    return fx.pid, stacks, err, peak


def test_bloat_symbols_bounded():
    """40,000 symbols sharing one 4,000-byte name: the agent's RSS grows by far less than the
    per-file quota; the attacker and another process are still profiled by name."""
    victim = start([os.path.join(FIX, "shares"), "60"])
    try:
        _, _, _, base = bloat_run(1, victim.pid, "control")
        apid, stacks, err, peak = bloat_run(40000, victim.pid, "bloat")
    finally:
        stop(victim)
    growth = max(peak[0] - base[0], peak[1] - base[1])
    print("  agent RSS (now, peak) %s KiB with one symbol, %s KiB with 40,000: +%d KiB" %
          (base, peak, growth))
    # the table costs 40,000 * 24 bytes + its 4 KB string table; the bound is the per-file
    # quota (--symbol-file-memory, 32 MiB), which the old per-symbol copies (160 MB) exceed
    check(growth < 32 * 1024, "RSS growth %d KiB under the 32 MiB per-file quota" % growth)
    mine = [s for s in stacks if str(s["labels"].get("pid")) == str(apid)]
    named = total(mine, lambda s: s["frames"][-1] == "A" * 4000)
    check(total(mine) >= 30 and named >= 0.9 * total(mine),
          "the attacker's samples are named from its table (%d of %d)" % (named, total(mine)))
    theirs = [s for s in stacks if str(s["labels"].get("pid")) == str(victim.pid)]
    hot = total(theirs, lambda s: s["frames"][-1] in ("hot_a", "hot_b", "hot_c", "seed") and
                "main" in s["frames"])
    check(total(theirs) >= 30 and hot >= 0.9 * total(theirs),
          "the other process is still named: %d of %d samples in main..hot_*" %
          (hot, total(theirs)))


def test_span_symbol_once_per_file():
    """One file mapped at 300 offsets is searched once for the span symbol, not per mapping."""
    fx, path = bloat_attacker(80000, 64, 300)
    try:
        with open("/proc/%d/maps" % fx.pid) as f:
            lines = [l.split() for l in f if " r-xp " in l or " r-xs " in l]
        mapped = sum(len(l) >= 6 and l[5] == path for l in lines)
        files = len({l[5] for l in lines if len(l) >= 6 and l[5].startswith("/")})
        check(mapped >= 300, "the file is mapped executable at 300 offsets (%d)" % mapped)
        _, r = profile_pid(fx.pid, os.path.join(TMP, "offsets.pb.gz"), 12, HZ, timeout=120)
    finally:
        stop(fx)
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)
    m = re.search(r"\((\d+) objects searched\)", r.stderr)
    check(m is not None, "the exit summary counts the objects searched (%s)" %
          r.stderr.strip()[-300:])
    searched = int(m.group(1))
    print("  %d mappings of the file, %d executable files, %d objects searched" %
          (mapped, files, searched))
    check(searched <= files, "each file searched at most once over 12 s (%d searches, %d "
          "files)" % (searched, files))


TESTS = [test_perf_map_symlink_to_root_file, test_perf_map_owned_by_root,
         test_perf_map_of_the_process_user, test_bloat_symbols_bounded,
         test_span_symbol_once_per_file]


def main():
    if os.geteuid() != 0:
        print("security tests need root (CAP_BPF, CAP_PERFMON, chown); failing loudly")
    rc = run("security", TESTS, sys.argv[1:])
    shutil.rmtree(TMP, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
