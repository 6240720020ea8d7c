#!/usr/bin/python3
"""End-to-end tests of what an unprivileged process (user nobody) can make the agent do with
the files it controls: a JIT perf map planted as a symbolic link to a root-only file, or a map
owned by another user, must not become frame names (perf refuses such maps too), while the
process is still profiled and its own map still names its JIT code. Needs root; fails loudly
without it. Ends with "N passed, N failed"."""
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from harness import (free_port, FIX, REPO, STOKER, TOOLS, CpuWatch, check, enough, load_profile, need,
                     pprof_check,
                     profile_pid, run, run_agent, start, stop)

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
    stacks = pprof_check.stacks(prof)
    # still profiled: every sample its CPU time implies (make test's other lane shares cores)
    enough(total(stacks), prof, least=30)
    return stacks, r.stderr


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
    check(anon >= 0.5 * n,
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
    check(named >= 0.5 * n,
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


def metrics(port):
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        text = r.read().decode()
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"^stoker_(\w+) ([0-9.e+-]+)$", text, re.M)}


def vm_kib_or_0(pid, field):
    """As vm_kib, 0 once the process is gone (polled while the agent may exit)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def profile_watched(pid, seconds, extra=(), during=None):
    """Profiles pid for seconds with /metrics on, calling during(port) once the agent has
    sampled for a while; returns (stacks, peak agent RSS in KiB, metrics near the end). The
    process is still profiled: every sample its CPU time implies is there."""
    port = free_port()
    out = os.path.join(TMP, "watched-%d.pb.gz" % pid)
    watch = CpuWatch(pid)
    a = subprocess.Popen([STOKER, "--pid", str(pid), "--duration", "%ds" % seconds,
                          "--sample-rate", str(HZ), "--metrics-addr", "127.0.0.1:%d" % port,
                          "--output", out] + list(extra),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    hwm, m, t0, called = 0, {}, time.time(), False
    try:
        while a.poll() is None:
            hwm = max(hwm, vm_kib_or_0(a.pid, "VmHWM"))
            el = time.time() - t0
            if during and not called and el >= seconds / 2:
                called = True
                during(port)
            if el >= seconds - 1.5 and not m:
                try:
                    m = metrics(port)
                except OSError:
                    pass
            time.sleep(0.1)
        _, err = a.communicate(timeout=60)
    finally:
        watch.stop()
        if a.poll() is None:
            a.kill()
            a.wait()
    check(a.returncode == 0, "agent exits 0 (%s)" % err.strip()[-300:])
    check(m, "/metrics scraped while profiling")
    prof = pprof_check.load(out)
    stacks = pprof_check.stacks(prof)
    try:
        prof.implied = watch.cpu_seconds(prof.pb.time_nanos,
                                         prof.pb.time_nanos + prof.pb.duration_nanos) * HZ
    except AssertionError:  # the process ended before the agent
        prof.implied = None
    enough(total(stacks), prof, least=30)
    return stacks, hwm, m


def jit_fixture_with_map(write_map):
    """The JIT fixture as nobody, with write_map(pid, path, lo, hi) run as root to make the
    map's text, which nobody then writes."""
    need("setpriv")
    fx = start(AS_NOBODY + [os.path.join(FIX, "unwind_cases-nofp"), "jit", "60"])
    lo, hi = jit_mapping(fx.pid)
    return fx, lo, hi


def write_as_nobody(path, text_path, append=False):
    """nobody writes text_path's content (handed on stdin) to path: the file is nobody's."""
    with open(text_path, "rb") as f:
        r = subprocess.run(AS_NOBODY + ["sh", "-c", 'cat %s "$1"' % (">>" if append else ">"),
                                        "sh", path], stdin=f, capture_output=True, text=True)
    check(r.returncode == 0, "nobody writes %s (%s)" % (path, r.stderr.strip()))


CAP_MIB = 16


def test_perf_map_bloat_capped():
    """A 61 MB perf map written by a nobody process adds at most its cap to the agent's RSS, is
    read once (not in full again each second it misses), and the process is still profiled."""
    results = {}
    for kind in ("small", "big"):
        fx, lo, hi = jit_fixture_with_map(None)
        path = "/tmp/perf-%d.map" % fx.pid
        text = os.path.join(TMP, "map-%s.txt" % kind)
        try:
            with open(text, "w") as f:
                # ranges away from the JIT code: every sample misses and asks for a re-read
                n = 1 if kind == "small" else 61 * 1000 * 1000 // 64
                for i in range(n):
                    f.write("%x 40 attacker_function_name_padding_%024d\n" %
                            (0x100000000000 + i * 0x40, i))
            if kind == "big":
                check(os.path.getsize(text) >= 61 * 1000 * 1000,
                      "map of %.1f MB" % (os.path.getsize(text) / 1e6))
            write_as_nobody(path, text)
            results[kind] = profile_watched(
                fx.pid, 6, ["--perf-map-process-memory", "%dMiB" % CAP_MIB, "--lines=false"])
        finally:
            stop(fx)
            if os.path.lexists(path):
                os.unlink(path)
            os.unlink(text)
    (_, hwm_small, _), (s_big, hwm_big, m_big) = results["small"], results["big"]
    grew = (hwm_big - hwm_small) / 1024.0
    print("    peak RSS: %.1f MiB with a 1-line map, %.1f MiB with the 61 MB one" %
          (hwm_small / 1024.0, hwm_big / 1024.0))
    # 4 MiB: what two runs of the agent differ by anyway (unwind tables, buffers)
    check(grew <= CAP_MIB + 4, "the 61 MB map adds %.1f MiB to the agent's peak RSS (cap %d MiB, "
          "+4 MiB of run-to-run noise)" % (grew, CAP_MIB))
    check(m_big.get("perf_map_bytes", -1) <= CAP_MIB << 20 and
          m_big.get("perf_map_bytes", 0) > (CAP_MIB << 20) * 0.9,
          "the map holds %d bytes, up to its cap" % m_big.get("perf_map_bytes", -1))
    check(m_big.get("perf_maps_capped_total", 0) >= 1, "the cap is counted (%s)" %
          m_big.get("perf_maps_capped_total"))
    check(m_big.get("perf_map_reads_total") == 1,
          "read from its start once in %d s of misses (%s)" % (6, m_big.get("perf_map_reads_total")))
    n = total(s_big)
    check(n >= 30, "the attacker is still profiled: %d samples" % n)


def test_perf_map_append_not_reparsed():
    """Lines a nobody process appends to its map are read from where the last read ended: the
    new JIT name shows, and the map is not read from its start again."""
    fx, lo, hi = jit_fixture_with_map(None)
    path = "/tmp/perf-%d.map" % fx.pid
    text = os.path.join(TMP, "map-append.txt")
    more = os.path.join(TMP, "map-more.txt")
    try:
        with open(text, "w") as f:
            for i in range(50000):  # 3 MB: a full re-read would show in the counters
                f.write("%x 40 early_function_%d\n" % (0x100000000000 + i * 0x40, i))
        with open(more, "w") as f:
            f.write("%x %x jit_fn_appended_later\n" % (lo, hi - lo))
        write_as_nobody(path, text)

        def append(port):
            write_as_nobody(path, more, append=True)

        stacks, _, m = profile_watched(fx.pid, 8, during=append)
    finally:
        stop(fx)
        if os.path.lexists(path):
            os.unlink(path)
    n = total(stacks)
    named = total(stacks, lambda s: s["frames"][-1] == "jit_fn_appended_later")
    check(named >= 0.25 * n,
          "%d of %d samples name the JIT leaf from the appended line" % (named, n))
    check(m.get("perf_map_reads_total") == 1 and m.get("perf_map_rereads_total", 0) >= 1,
          "read once from the start (%s), appended lines read after (%s re-reads)" %
          (m.get("perf_map_reads_total"), m.get("perf_map_rereads_total")))


# A stand-in JVM: maps a libjvm.so, catches SIGQUIT (saying so on stdout) as HotSpot does, and
# spins in anonymous executable code ("jmp ." on a thread) that no perf map names.
FAKE_JVM = r"""
import ctypes, mmap, signal, sys, threading, time
ctypes.CDLL(sys.argv[1])
signal.signal(signal.SIGQUIT, lambda *a: print("SIGQUIT", flush=True))
m = mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
              prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
m.write(b"\xeb\xfe")
spin = ctypes.CFUNCTYPE(None)(ctypes.addressof(ctypes.c_char.from_buffer(m)))
threading.Thread(target=spin, daemon=True).start()
print("ready", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_java_attach_not_where_user_cannot_write():
    """--java-perfmap never creates the JVM trigger file where the process's user could not: a
    nobody "JVM" (it maps a libjvm.so and catches SIGQUIT) whose /tmp is a root-owned directory
    gets no file there and no SIGQUIT, and the refusal is counted."""
    need("setpriv", "unshare", "mount")
    ro = tempfile.mkdtemp(prefix="stoker-rotmp-", dir="/var/tmp")
    os.chmod(ro, 0o755)  # root's: nobody may not create files in it
    # outside /tmp, which the fixture will not see
    libdir = tempfile.mkdtemp(prefix="stoker-fakejvm-", dir="/var/tmp")
    lib = os.path.join(libdir, "libjvm.so")
    shutil.copy("/usr/lib/x86_64-linux-gnu/libz.so.1", lib)
    prog = os.path.join(libdir, "fake_jvm.py")
    with open(prog, "w") as f:
        f.write(FAKE_JVM)
    os.chmod(libdir, 0o755)
    os.chmod(lib, 0o755)
    os.chmod(prog, 0o644)
    # /tmp is ro only in the fixture's mount namespace. That namespace belongs to a user
    # namespace of its own (every id mapped to itself), so the kernel makes its mounts slaves
    # of ours and the bind cannot propagate back here: making / private, which `unshare -m`
    # does, fails where / is not a mount point (a chroot).
    # /tmp is ro only in the fixture's mount namespace, made private so the bind does not
    # propagate back here; where / is not a mount point (a chroot) it cannot be, and the test
    # goes on only when no mount, ours or the host init's, is shared (user namespaces, the
    # other way, are refused in a chroot)
    script = ("if ! mount --make-rprivate / 2>/dev/null; then "
              "! grep -q ' shared:' /proc/self/mountinfo /proc/1/mountinfo || "
              "{ echo 'shared mounts: cannot isolate /tmp' >&2; exit 1; }; fi; "
              "mount --bind %s /tmp && exec %s /usr/bin/python3 %s %s 60"
              % (ro, " ".join(AS_NOBODY), prog, lib))
    fx = subprocess.Popen(["unshare", "--mount", "--propagation", "unchanged", "sh", "-c",
                           script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = fx.stdout.readline().strip()
        check(first == "ready", "the stand-in JVM runs (%s)" %
              (first or fx.stderr.read().strip() if fx.poll() is not None else first))
        with open("/proc/%d/maps" % fx.pid) as f:
            maps = f.read()
        check("/libjvm.so" in maps and re.search(r" rwxp 0+ 00:00 0\s*$", maps, re.M),
              "it maps a libjvm.so and anonymous executable code")
        before = os.stat(ro).st_mtime_ns
        # 8 s: /metrics are read 1.5 s before the end, and the first request's refusal is
        # counted once the JVM has been sampled and the worker has tried
        stacks, _, m = profile_watched(fx.pid, 8, ["--java-perfmap"])
        alive = fx.poll() is None
        after = os.stat(ro).st_mtime_ns
        left = os.listdir(ro)
    finally:
        stop(fx)
        said = fx.stdout.read()
        shutil.rmtree(ro, ignore_errors=True)
        shutil.rmtree(libdir, ignore_errors=True)
    check(m.get("java_perfmap_requests_total", 0) >= 1 and
          m.get("java_perfmap_failed_total", 0) >= 1 and
          m.get("java_perfmap_written_total") == 0,
          "asked, refused, counted (%s requests, %s failed)" %
          (m.get("java_perfmap_requests_total"), m.get("java_perfmap_failed_total")))
    check(before == after and not left,
          "nothing created in the root-owned /tmp (mtime %s, then %s; %s)" % (before, after, left))
    check(alive and "SIGQUIT" not in said, "the process got no SIGQUIT (%s)" % said.strip())
    check(total(stacks) >= 100, "still profiled: %d samples" % total(stacks))

STEADY_CAPS = (1 << 2) | (1 << 19) | (1 << 40)  # DAC_READ_SEARCH, SYS_PTRACE, CHECKPOINT_RESTORE


def thread_status(pid):
    """{tid: {field: value}} of every thread of pid."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                out[int(tid)] = dict(ln.rstrip("\n").split(":\t", 1) for ln in f if ":\t" in ln)
        except FileNotFoundError:
            pass
    return out


def test_threads_hold_only_steady_caps():
    """Run as root with every thread started (metadata, metrics, uploader, debug-file fetcher),
    each thread of the agent holds only the steady-state capabilities, in every set, and
    no_new_privs."""
    with open("/proc/sys/kernel/cap_last_cap") as f:
        want = STEADY_CAPS & ((1 << (int(f.read()) + 1)) - 1)
    cache = tempfile.mkdtemp(prefix="stoker-fetch-")
    os.chmod(cache, 0o700)
    a = subprocess.Popen(
        [STOKER, "--duration", "6s", "--upload-interval", "1s", "--spool-dir", "",
         "--server-url", "http://127.0.0.1:9",
         "--metrics-addr", "127.0.0.1:%d" % (20000 + os.getpid() % 20000),
         "--docker-socket", os.path.join(TMP, "no-docker.sock"), "--kubernetes",
         "--kubelet-url", "http://127.0.0.1:9", "--debuginfod-urls", "http://127.0.0.1:9",
         "--debuginfod-cache-dir", cache],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 20
        st = {}
        while time.time() < deadline and a.poll() is None:
            st = thread_status(a.pid)
            if len(st) >= 5:
                break
            time.sleep(0.1)
        check(len(st) >= 5, "the agent runs its metadata, metrics, upload and fetch threads (%d "
              "threads: %s)" % (len(st), sorted(v.get("Name") for v in st.values())))
        for tid, v in sorted(st.items()):
            sets = {k: int(v[k], 16) for k in ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb")}
            check(sets["CapEff"] == sets["CapPrm"] == sets["CapBnd"] == want
                  and sets["CapInh"] == sets["CapAmb"] == 0 and v["NoNewPrivs"] == "1",
                  "thread %d (%s) holds only %#x: %s, NoNewPrivs %s" %
                  (tid, v["Name"], want, {k: "%#x" % n for k, n in sets.items()},
                   v["NoNewPrivs"]))
        out, err = a.communicate(timeout=60)
    finally:
        stop(a)
        shutil.rmtree(cache, ignore_errors=True)
    check(a.returncode == 0 and "sampling" in err,
          "the agent ran to its end and sampled (%s)" % err.strip()[-300:])


def test_local_run_keeps_only_what_writing_needs():
    """A one-off --output run as root (sudo into a user's home) also keeps CAP_DAC_OVERRIDE,
    to write where it was asked: into a directory of nobody's with mode 0700; nothing else."""
    with open("/proc/sys/kernel/cap_last_cap") as f:
        want = (STEADY_CAPS | (1 << 1)) & ((1 << (int(f.read()) + 1)) - 1)
    home = os.path.join(TMP, "nobody-home")
    os.mkdir(home, 0o700)
    os.chown(home, pwd.getpwnam("nobody").pw_uid, -1)
    out = os.path.join(home, "p.pb.gz")
    a = subprocess.Popen([STOKER, "--duration", "3s", "--output", out],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 20
        st = {}
        while time.time() < deadline and a.poll() is None:
            st = thread_status(a.pid)  # no_new_privs is set when the drop is done
            if st and all(v.get("NoNewPrivs") == "1" for v in st.values()):
                break
            time.sleep(0.1)
        _, err = a.communicate(timeout=60)
    finally:
        stop(a)
    sets = [(int(v["CapEff"], 16), int(v["CapBnd"], 16)) for v in st.values()]
    check(sets and all(e == b == want for e, b in sets),
          "every thread holds %#x: %s" % (want, ["%#x/%#x" % x for x in sets]))
    check(a.returncode == 0 and os.path.getsize(out) > 0,
          "the profile is written into nobody's 0700 directory (%s)" % err.strip()[-200:])


# the unit's set but CAP_SYS_RESOURCE, which the tests' own bounding set may lack
UNIT_CAPS = ("cap_bpf,cap_perfmon,cap_sys_ptrace,cap_dac_read_search,cap_syslog,"
             "cap_checkpoint_restore")


def test_unit_user_keeps_only_steady_caps():
    """As the unit runs it (an unprivileged user with the unit's ambient capabilities), every
    thread is left with the three steady-state capabilities, none ambient or inheritable."""
    need("capsh")
    out = os.path.join(TMP, "unit-user")
    os.mkdir(out, 0o700)
    os.chown(out, pwd.getpwnam("nobody").pw_uid, -1)
    port = 20000 + (os.getpid() + 3) % 20000
    a = subprocess.Popen(
        ["capsh", "--caps=%s+eip cap_setpcap,cap_setuid,cap_setgid+ep" % UNIT_CAPS, "--keep=1",
         "--user=nobody", "--addamb=" + UNIT_CAPS, "--", "-c",
         "exec %s --duration 4s --metrics-addr 127.0.0.1:%d --docker-socket %s --output %s" %
         (STOKER, port, os.path.join(TMP, "no-docker.sock"), os.path.join(out, "p.pb.gz"))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 20
        st = {}
        while time.time() < deadline and a.poll() is None:
            st = thread_status(a.pid)
            if len(st) >= 3 and all(v.get("NoNewPrivs") == "1" for v in st.values()):
                break
            time.sleep(0.1)
        _, err = a.communicate(timeout=60)
    finally:
        stop(a)
    check(len(st) >= 3 and all(v["Uid"].split()[0] == str(pwd.getpwnam("nobody").pw_uid)
                               for v in st.values()),
          "the agent runs as nobody with its metadata and metrics threads (%d threads)" %
          len(st))
    for tid, v in sorted(st.items()):
        sets = {k: int(v[k], 16) for k in ("CapEff", "CapPrm", "CapInh", "CapAmb")}
        check(sets["CapEff"] == sets["CapPrm"] == STEADY_CAPS and
              sets["CapInh"] == sets["CapAmb"] == 0 and v["NoNewPrivs"] == "1",
              "thread %d holds only %#x: %s" % (tid, STEADY_CAPS,
                                                 {k: "%#x" % n for k, n in sets.items()}))
    check(a.returncode == 0, "the agent ran to its end as nobody (%s)" % err.strip()[-200:])


def cgroup2_root():
    for line in open("/proc/mounts"):
        f = line.split()
        if f[2] == "cgroup2":
            return f[1]
    raise AssertionError("no cgroup2 mount found")


def cgroup_v1_systemd_root():
    for line in open("/proc/mounts"):
        f = line.split()
        if f[2] == "cgroup" and "name=systemd" in f[3].split(","):
            return f[1]
    raise AssertionError("no cgroup v1 name=systemd mount found (a hybrid host)")


def spoofed_labels(root, v1):
    """nobody names cgroups under root in its own delegated subtree (user@UID.service) like
    a system unit and a Docker scope and moves its processes there; root puts two more in the
    same names where only it can. On v1 the processes stay in the v2 root, so the agent reads
    the name=systemd line. Returns each process's labels."""
    need("setpriv")
    nobody = pwd.getpwnam("nobody").pw_uid
    user = os.path.join(root, "user.slice", "user-%d.slice" % nobody, "user@%d.service" % nobody)
    app = os.path.join(user, "app.slice")
    made = [os.path.join(root, "system.slice", "stoker-sec-real.service"),
            os.path.join(root, "system.slice", "docker-%s.scope" % REAL_ID)]
    spoof = [os.path.join(app, "nginx.service"), os.path.join(app, "docker-%s.scope" % FAKE_ID)]
    for d in made + [app]:
        os.makedirs(d, exist_ok=True)
    # systemd delegates user@UID.service to the user: the subtree and its files are theirs
    for d in (user, app):
        for name in [""] + [f for f in os.listdir(d) if f.startswith("cgroup.") or f == "tasks"]:
            os.chown(os.path.join(d, name), nobody, -1)
    fx = [start(AS_NOBODY + [os.path.join(FIX, "shares"), "30"]) for _ in range(4)]
    out = os.path.join(TMP, "cgroups-%s.pb.gz" % ("v1" if v1 else "v2"))
    try:
        for p in fx if v1 else []:
            with open(os.path.join(cgroup2_root(), "cgroup.procs"), "w") as f:
                f.write(str(p.pid))
        for d, p in zip(made, fx[:2]):
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write(str(p.pid))
        for p in fx[2:]:
            with open(os.path.join(app, "cgroup.procs"), "w") as f:
                f.write(str(p.pid))
        as_nobody("sh", "-c", 'mkdir "$1" "$2" && echo "$3" > "$1/cgroup.procs" && '
                  'echo "$4" > "$2/cgroup.procs"', "sh", spoof[0], spoof[1],
                  str(fx[2].pid), str(fx[3].pid))
        with open("/proc/%d/cgroup" % fx[3].pid) as f:
            cg = f.read()
        check("docker-%s.scope" % FAKE_ID in cg and ("0::/\n" in cg) == v1,
              "nobody moved its process into its own docker-<hex>.scope (%s): %s" %
              ("v1 name=systemd, v2 at the root" if v1 else "v2", cg.strip().replace("\n", " ")))
        r = run_agent(["--duration", "3s", "--sample-rate", str(HZ), "--output", out] +
                      [a for p in fx for a in ("--pid", str(p.pid))], timeout=120)
        check(r.returncode == 0, "agent exits 0 (%s)" % r.stderr[-300:])
    finally:
        for p in fx:
            stop(p)
        for d in spoof + [app, user, os.path.dirname(user), os.path.dirname(os.path.dirname(
                user))] + made:
            try:
                os.rmdir(d)
            except OSError:
                pass
    stacks = pprof_check.stacks(load_profile(out, HZ))
    labels = [[s["labels"] for s in stacks if s["labels"].get("pid") == str(p.pid)]
              for p in fx]
    check(all(labels), "every process is profiled (%s samples)" % [len(l) for l in labels])
    return labels, nobody


REAL_ID, FAKE_ID = "f2" * 32, "e1" * 32


def check_not_spoofed(labels, nobody):
    real_svc, real_ctr, fake_svc, fake_ctr = labels
    check(all(l.get("service_name") == "stoker-sec-real" for l in real_svc),
          "a unit where systemd puts units names the service: %s" % real_svc[0])
    check(all(l.get("container_id") == REAL_ID for l in real_ctr),
          "a Docker scope where the runtime puts them names the container: %s" % real_ctr[0])
    check(all(l.get("service_name") == "shares" and l.get("systemd_unit") ==
              "user@%d.service" % nobody for l in fake_svc),
          "nobody's own nginx.service names no service: %s" % fake_svc[0])
    check(all("container_id" not in l and l.get("service_name") == "shares"
              for l in fake_ctr),
          "nobody's own docker-<hex>.scope names no container: %s" % fake_ctr[0])


def test_cgroup_names_not_spoofed():
    """cgroup v2: nobody's own nginx.service and docker-<hex>.scope, in the subtree systemd
    delegates to it, name neither a service nor a container; the same names where only root
    can make them still label."""
    check_not_spoofed(*spoofed_labels(cgroup2_root(), False))


def test_cgroup_names_not_spoofed_v1():
    """The same on the v1 name=systemd hierarchy of a hybrid host, read when the v2 line is
    the root."""
    check_not_spoofed(*spoofed_labels(cgroup_v1_systemd_root(), True))


def test_server_url_credentials_never_logged():
    """A user:password@ in --server-url (and --kubelet-url) shows as ***@ in the startup line,
    push failures, the preflight check and a rejected flag's message."""
    url = "http://bob:hunter2@127.0.0.1:9"
    # a busy process to sample: an idle host closes only empty windows, which are not pushed
    fx = start([os.path.join(FIX, "shares"), "30"])
    try:
        runs = [run_agent(["--duration", "3s", "--upload-interval", "1s", "--spool-dir", "",
                           "--server-url", url, "--kubernetes", "--kubelet-url", url,
                           "--docker-socket", "", "--pid", str(fx.pid)], timeout=60),
                run_agent(["--check", "--server-url", url], timeout=60),
                run_agent(["--server-url", "ftp://bob:hunter2@127.0.0.1:9"], timeout=60)]
    finally:
        stop(fx)
    for r in runs:
        out = r.stdout + r.stderr
        check("hunter2" not in out and "bob" not in out,
              "no credential in the output (%s)" % out.strip()[-300:])
    check("pushing to http://***@127.0.0.1:9" in runs[0].stderr and
          "failed to push to http://***@127.0.0.1:9" in runs[0].stderr and
          "the kubelet at http://***@127.0.0.1:9" in runs[0].stderr,
          "the startup line, push failures and the kubelet name the redacted URL")
    check("http://***@127.0.0.1:9 does not answer" in runs[1].stdout + runs[1].stderr,
          "the preflight check names the redacted URL")
    check(runs[2].returncode == 2 and "'ftp://***@127.0.0.1:9'" in runs[2].stderr,
          "a rejected --server-url is shown redacted: %s" % runs[2].stderr.strip())


def make_ca(d, name, san):
    """A CA d/name-ca.pem and a server certificate d/name.pem (key d/name.key) for san."""
    need("openssl")

    def ossl(*args):
        subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, cwd=d)
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
         "/CN=%s-ca" % name, "-keyout", name + "-ca.key", "-out", name + "-ca.pem")
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\n" % san)
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name, "-keyout",
         name + ".key", "-out", name + ".csr")
    ossl("x509", "-req", "-in", name + ".csr", "-CA", name + "-ca.pem", "-CAkey",
         name + "-ca.key", "-CAcreateserial", "-days", "2", "-out", name + ".pem", "-extfile",
         name + ".ext")
    return [os.path.join(d, name + x) for x in ("-ca.pem", ".pem", ".key")]


def test_pods_from_the_verified_api_server():
    """In a cluster the agent lists its node's pods from the API server (pods list access, no
    nodes/proxy), verified with the service account's CA; a server the CA did not sign never
    gets the token; a kubelet URL is verified by default too, unless told otherwise."""
    d = tempfile.mkdtemp(dir=TMP)
    ca, cert, key = make_ca(d, "apiserver", "IP:127.0.0.1")
    other_ca = make_ca(d, "other", "IP:127.0.0.1")[0]
    tok = os.path.join(d, "token")
    with open(tok, "w") as f:
        f.write("sa-token-123\n")
    app = "ab" * 32
    root = cgroup2_root()
    cg = os.path.join(root, "stoker-sec-k8s.slice", "cri-containerd-%s.scope" % app)
    os.makedirs(cg, exist_ok=True)
    fake = subprocess.Popen(
        ["/usr/bin/python3", os.path.join(TOOLS, "fake_metadata.py"),
         "--token", "sa-token-123", "--app-id", app, "--docker-id", "cd" * 32,
         "--docker-socket", os.path.join(d, "docker.sock"), "--tls-cert", cert,
         "--tls-key", key], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    port = int(fake.stdout.readline().split()[-1])
    fx = start([os.path.join(FIX, "shares"), "30"])
    env = dict(os.environ, KUBERNETES_SERVICE_HOST="127.0.0.1",
               KUBERNETES_SERVICE_PORT=str(port), NODE_NAME="node-a")
    out = os.path.join(d, "k8s.pb.gz")

    def agent(*extra, seconds=3):
        return subprocess.run([STOKER, "--kubernetes", "--kubernetes-token-file", tok,
                               "--docker-socket", "", "--pid", str(fx.pid), "--duration",
                               "%ds" % seconds, "--sample-rate", str(HZ), "--output", out] +
                              list(extra), env=env, capture_output=True, text=True, timeout=90)
    try:
        with open(os.path.join(cg, "cgroup.procs"), "w") as f:
            f.write(str(fx.pid))
        good = agent("--kubernetes-ca-file", ca)
        stacks = pprof_check.stacks(load_profile(out, HZ))
        wrong = agent("--kubernetes-ca-file", other_ca, seconds=2)
        kubelet = agent("--kubernetes-ca-file", other_ca, "--kubelet-url",
                        "https://127.0.0.1:%d" % port, seconds=2)
        insecure = agent("--kubelet-url", "https://127.0.0.1:%d" % port,
                         "--kubelet-verify-tls=false", seconds=2)
    finally:
        stop(fx)
        fake.stdin.close()
        hits = json.loads(fake.stdout.read().strip().splitlines()[-1])
        fake.wait()
        for x in (cg, os.path.dirname(cg)):
            try:
                os.rmdir(x)
            except OSError:
                pass
    check(good.returncode == 0 and "container metadata from the API server at "
          "https://127.0.0.1:%d" % port in good.stderr,
          "the agent asks the API server (%s)" % good.stderr.strip()[-300:])
    mine = [s["labels"] for s in stacks if s["labels"].get("pid") == str(fx.pid)]
    named = [l for l in mine if l.get("pod") == "checkout-7d9f8b6c5-x2x9q" and
             l.get("namespace") == "shop" and l.get("container_id") == app]
    check(mine and len(named) >= 0.9 * len(mine),
          "pod labels from the API server on %d of %d stacks" % (len(named), len(mine)))
    for r, who in ((wrong, "API server"), (kubelet, "kubelet")):
        check(r.returncode == 0 and "failed to reach the %s at" % who in r.stderr and
              "certificate" in r.stderr.lower(),
              "the %s, its certificate signed by another CA, is refused: %s" % (who, [
                  ln for ln in r.stderr.splitlines() if "reach" in ln]))
    check(insecure.returncode == 0 and "failed to reach" not in insecure.stderr,
          "--kubelet-verify-tls=false reaches a kubelet with a certificate of any CA")
    check(hits["apiserver_pods"] >= 1 and hits["pods"] >= 1 and hits["unauthorized"] == 0,
          "the token went only to verified servers or where verification was turned off: %s"
          % hits)


UNIT = os.path.join(REPO, "packaging", "systemd", "stoker.service")
# what PrivateDevices= leaves in the service's /dev
PRIVATE_DEV = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty",
               "/dev/ptmx", "/dev/pts/", "/dev/shm/", "/dev/mqueue/", "/dev/hugepages/",
               "/dev/log", "/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/fd/")


def syscall_set(name, seen):
    """The system calls of a systemd filter group (@name, nested groups included) or name."""
    if not name.startswith("@"):
        return {name}
    out = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True,
                         text=True, check=True).stdout
    calls = set()
    for ln in out.splitlines()[1:]:
        t = ln.strip()
        if t and not t.startswith("#") and t not in seen:
            seen.add(t)
            calls |= syscall_set(t, seen)
    return calls


def unit_settings(path):
    """{key: [values]} of the [Service] section."""
    out = {}
    with open(path) as f:
        for ln in f:
            if "=" in ln and not ln.startswith("#"):
                k, v = ln.strip().split("=", 1)
                out.setdefault(k, []).append(v)
    return out


def test_systemd_sandbox_fits_the_agent():
    """Everything the agent does while pushing, spooling, serving /metrics and asking for
    metadata fits the unit's sandbox, traced with strace: every system call is in its
    SystemCallFilter=, no device outside PrivateDevices='s /dev is opened, nothing under
    /sys/fs/cgroup is written (ProtectControlGroups=), no memory is mapped writable and
    executable (MemoryDenyWriteExecute=), the kernel log is not read."""
    need("strace", "systemd-analyze")
    unit = unit_settings(UNIT)
    for k in ("PrivateDevices", "PrivateMounts", "ProtectControlGroups", "RestrictSUIDSGID",
              "MemoryDenyWriteExecute"):
        check(unit.get(k) == ["yes"], "the unit sets %s=yes" % k)
    # each would leave kernel frames unnamed: kallsyms hidden, CAP_SYSLOG out of the bounding set
    for k in ("ProtectKernelTunables", "ProtectKernelLogs"):
        check(unit.get(k, ["no"]) == ["no"], "the unit leaves %s= off" % k)
    check("CAP_SYSLOG" in unit["CapabilityBoundingSet"][0].split(),
          "CAP_SYSLOG stays in the bounding set for /proc/kallsyms")
    allowed, denied = set(), set()
    for line in unit.get("SystemCallFilter", []):
        deny = line.startswith("~")
        for name in line.lstrip("~").split():
            (denied if deny else allowed).update(syscall_set(name, set()))
    check(allowed, "the unit allows a list of system calls: %s" % unit.get("SystemCallFilter"))
    trace = os.path.join(TMP, "strace.out")
    spool = os.path.join(TMP, "sandbox-spool")
    port = 20000 + (os.getpid() + 7) % 20000
    a = subprocess.Popen(
        ["strace", "-f", "-qq", "-s", "200", "-o", trace, STOKER, "--duration", "5s",
         "--upload-interval", "1s", "--spool-dir", spool, "--server-url", "http://127.0.0.1:9",
         "--metrics-addr", "127.0.0.1:%d" % port, "--docker-socket",
         os.path.join(TMP, "no-docker.sock"), "--kubernetes", "--kubelet-url",
         "http://127.0.0.1:9"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
            check(r.status == 200, "/metrics answers under strace")
        out, err = a.communicate(timeout=120)
    finally:
        stop(a)
    check(a.returncode == 0 and "spooled" in err, "the agent ran, spooled and exited 0 under "
          "strace (%s)" % err.strip()[-200:])
    used, devs, cg_writes, wx, klog = set(), set(), [], [], []
    with open(trace) as f:
        for ln in f:
            m = re.match(r"^\d+\s+([a-z0-9_]+)\((.*)", ln)
            if not m:
                continue
            name, args = m.groups()
            if "= -1 ENOSYS" in ln or name == "execve":
                continue  # the tracer's own exec; probes of absent calls
            used.add(name)
            path = re.search(r'"(/[^"]*)"', args)
            path = path.group(1) if path else ""
            if path.startswith("/dev/") and not path.startswith(PRIVATE_DEV):
                devs.add(path)
            if path.startswith("/sys/fs/cgroup") and (
                    name in ("mkdir", "mkdirat", "unlink", "unlinkat", "rename", "renameat") or
                    re.search(r"O_WRONLY|O_RDWR|O_CREAT", args)):
                cg_writes.append(ln.strip())
            # what systemd's filter refuses: W+X maps, making anything executable later
            if (name == "mmap" and "PROT_WRITE" in args and "PROT_EXEC" in args or
                    name in ("mprotect", "pkey_mprotect") and "PROT_EXEC" in args or
                    name == "shmat" and "SHM_EXEC" in args):
                wx.append(ln.strip())
            if path in ("/proc/kmsg", "/dev/kmsg") or name == "syslog":
                klog.append(ln.strip())
    check(len(used) > 30, "%d distinct system calls traced" % len(used))
    check(not (used - allowed) and not (used & denied),
          "every system call is allowed by SystemCallFilter= (outside: %s)" %
          sorted((used - allowed) | (used & denied)))
    check(not devs, "no device node outside PrivateDevices= is opened (%s)" % sorted(devs))
    check(not cg_writes, "nothing under /sys/fs/cgroup is written (%s)" % cg_writes[:2])
    check(not wx, "no writable and executable mapping, nothing made executable later (%s)" %
          wx[:2])
    check(not klog, "the kernel log is not read (%s)" % klog[:2])


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
            argv = p.args[len(AS_NOBODY):] if p.args[:len(AS_NOBODY)] == AS_NOBODY else p.args
            check(p.poll() is None, "%s still runs" % os.path.basename(argv[0]))
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


def build_id_of(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    check(m is not None, "%s has a build-id" % path)
    return m.group(1)


def test_claimed_build_id_not_shared():
    """A library nobody builds with libc's build-id and one symbol spanning 16 MiB: the
    agent must not name another process's libc frames from it (tables are shared by file
    identity, never by the build-id a file claims), and that process still unwinds."""
    need("setpriv", "readelf", "gcc")
    libc = "/lib/x86_64-linux-gnu/libc.so.6"
    bid = build_id_of(libc)
    d = os.path.join(TMP, "lib")
    os.makedirs(d, exist_ok=True)
    os.chmod(TMP, 0o755)
    os.chmod(d, 0o755)
    src, so = os.path.join(d, "poison.S"), os.path.join(d, "poison.so")
    with open(src, "w") as f:
        f.write("\t.text\n\t.globl POISONED_BY_ATTACKER\n"
                "\t.type POISONED_BY_ATTACKER, @function\n"
                "POISONED_BY_ATTACKER:\n\tret\n"
                "\t.size POISONED_BY_ATTACKER, 0x1000000\n")
    r = subprocess.run(["gcc", "-shared", "-nostdlib", "-Wl,--build-id=0x" + bid, "-o", so,
                        src], capture_output=True, text=True)
    check(r.returncode == 0 and build_id_of(so) == bid,
          "the attacker's library claims libc's build-id %s (%s)" % (bid, r.stderr.strip()))
    stacks, apid, vpid, _ = run_system_wide(
        "poison", AS_NOBODY + [os.path.join(FIX, "maplibs"), "30", "POISONED_BY_ATTACKER", so],
        [os.path.join(FIX, "lines_hot"), "malloc"], watch=5)
    att, vic = of_pid(stacks, apid), of_pid(stacks, vpid)
    poisoned = total(vic, lambda s: any("POISONED" in f for f in s["frames"]))
    def callees(s):
        fr = s["frames"]
        return fr[fr.index("churn") + 1:] if "churn" in fr else []

    # samples inside libc's allocator, below churn: every frame there must have a name
    in_call = total(vic, lambda s: callees(s))
    in_libc = total(vic, lambda s: callees(s) and all(
        not f.startswith("[") and "+0x" not in f for f in callees(s)))
    reach = total(vic, lambda s: "main" in s["frames"])
    n_vic = total(vic)
    print("    victim: %d samples, %d in libc's allocator by name, %d reach main, %d poisoned"
          % (n_vic, in_libc, reach, poisoned))
    check(total(att) > 0, "the attacker is profiled (%d samples)" % total(att))
    check(poisoned == 0, "no frame of the victim is named from the attacker's table (%d "
          "samples)" % poisoned)
    check(n_vic >= 100 and in_call >= 0.5 * n_vic and in_libc >= 0.95 * in_call and
          reach >= 0.9 * n_vic, "the victim's libc frames keep libc's names (%d of %d samples in "
          "libc) and its stacks reach main (%d of %d)" % (in_libc, in_call, reach, n_vic))



# nobody's library: loaded, then its path replaced by a FIFO, which blocks whoever opens it
# for reading until a writer comes (none will)
FIFO_LIB = r"""
import ctypes, os, sys
lib = os.path.join(sys.argv[1], "libtrap.so")
h = ctypes.CDLL(lib)
os.unlink(lib)
os.mkfifo(lib)
print("ready", flush=True)
while True:
    h.dl_burn()
"""


def test_fifo_traps_do_not_hang():
    """FIFOs where the agent reads (a mapped library's path, a JIT perf map, the debug file a
    stripped binary's .gnu_debuglink names), planted by nobody: the agent never blocks on
    them. It ends --duration on time, still names the library's code (read through the
    mapping itself) and still profiles every process, a root one by name."""
    need("setpriv", "strip", "objcopy")
    d = tempfile.mkdtemp(prefix="fifo-", dir=TMP)
    os.chmod(TMP, 0o755)
    nobody = pwd.getpwnam("nobody").pw_uid
    os.chown(d, nobody, -1)
    # nobody's copies: the build tree may be where nobody cannot read (a clone in /root)
    shutil.copy(os.path.join(FIX, "libdlburn.so"), os.path.join(d, "libtrap.so"))
    os.chown(os.path.join(d, "libtrap.so"), nobody, -1)
    # a stripped program whose debug link names prog.debug beside it, which nobody then
    # replaces with a FIFO (the link's CRC was taken from the real debug file)
    prog, dbg = os.path.join(d, "prog"), os.path.join(d, "prog.debug")
    shutil.copy(os.path.join(FIX, "shares"), prog)
    for cmd in (["objcopy", "--only-keep-debug", prog, dbg], ["strip", "--strip-all", prog],
                ["objcopy", "--add-gnu-debuglink=" + dbg, prog]):
        check(subprocess.run(cmd, capture_output=True).returncode == 0, " ".join(cmd))
    os.unlink(dbg)
    os.chown(prog, nobody, -1)
    as_nobody("mkfifo", dbg)
    linked = start(AS_NOBODY + [prog, "30"])
    lib = subprocess.Popen(AS_NOBODY + ["/usr/bin/python3", "-c", FIFO_LIB, d],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready = lib.stdout.readline().strip()
    check(ready == "ready", "nobody's process loaded its library and planted the FIFO (%s)"
          % (ready or lib.stderr.read()[-300:]))
    jit = start(AS_NOBODY + [os.path.join(FIX, "unwind_cases-nofp"), "jit", "30"])
    victim = start([os.path.join(FIX, "shares"), "30"])
    perf_map = "/tmp/perf-%d.map" % jit.pid
    out = os.path.join(TMP, "fifo.pb.gz")
    try:
        jit_mapping(jit.pid)
        as_nobody("mkfifo", perf_map)
        check(os.path.exists(os.path.join(d, "libtrap.so")) and
              not os.path.isfile(os.path.join(d, "libtrap.so")),
              "the mapped library's path is now a FIFO")
        pids = [lib.pid, jit.pid, victim.pid, linked.pid]
        r = run_agent(sum((["--pid", str(p)] for p in pids), []) +
                      ["--duration", "4s", "--sample-rate", str(HZ), "--output", out],
                      timeout=60)
    finally:
        for p in (lib, jit, victim, linked):
            stop(p)
        if os.path.lexists(perf_map):
            os.unlink(perf_map)
    check(r.returncode == 0, "agent exits 0 (%s)" % r.stderr.strip()[-300:])
    pb = load_profile(out, HZ).pb
    late = os.path.getmtime(out) - pb.time_nanos / 1e9 - 4
    check(late <= 3.0, "written within 3 s of the end of --duration (%.2f s late)" % late)
    stacks = pprof_check.stacks(pprof_check.load(out))
    def of(p):
        return [s for s in stacks if s["labels"].get("pid") == str(p.pid)]
    n_lib = total(of(lib))
    burn = total([s for s in of(lib) if "dl_burn" in s["frames"]])
    print("    library: %d of %d samples in dl_burn; jit: %d samples; root process: %d"
          % (burn, n_lib, total(of(jit)), total(of(victim))))
    check(n_lib >= 50 and burn >= 0.5 * n_lib, "the library behind the FIFO is named through "
          "its mapping (%d of %d samples in dl_burn)" % (burn, n_lib))
    check(total(of(jit)) >= 50, "the process with the FIFO perf map is still profiled (%d)"
          % total(of(jit)))
    check(total(of(linked)) >= 50, "the program whose debug link names a FIFO is still "
          "profiled (%d)" % total(of(linked)))
    hot = total([s for s in of(victim) if any(f.startswith("hot_") for f in s["frames"])])
    check(total(of(victim)) >= 50 and hot >= 0.9 * total(of(victim)),
          "the root process is profiled and named (%d of %d in hot_*)" % (hot, total(of(victim))))


# nobody's side of test_truncated_under_reads: maps executable copies of a big ELF file and
# keeps cutting each to one page and writing it back, busy in between so that it is sampled
# and its maps read again.
TRUNCATE_LOOP = r"""
import ctypes, os, sys, threading, time
src, d, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
data = bytearray(open(src, "rb").read())
# a spin loop in the first page (over .gnu.hash), which the cuts keep: the thread running it
# puts samples in the file's mapping, so the agent reads the process's maps again
SPIN = 0xF00
data[SPIN:SPIN + 11] = bytes([0xB9, 0, 0, 0x10, 0, 0x48, 0xFF, 0xC9, 0x75, 0xFB, 0xC3])
data = bytes(data)
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
end = time.time() + seconds
spin = []

def spinner():
    while time.time() < end:
        if spin:
            ctypes.CFUNCTYPE(None)(spin[-1] + SPIN)()  # ctypes lets go of the GIL

threading.Thread(target=spinner, daemon=True).start()
files = cuts = 0
while time.time() < end:
    path = os.path.join(d, "lib%d.so" % files)
    files += 1
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o755)
    os.write(fd, data)
    spin.append(libc.mmap(None, len(data), 5, 2, fd, 0))  # PROT_READ|PROT_EXEC, MAP_PRIVATE
    t = time.time() + 0.2
    while time.time() < t:
        # whole for a few ms (long enough for a read to begin), then cut and written back
        w = time.time() + 0.005
        while time.time() < w:
            pass
        os.ftruncate(fd, 4096)
        cuts += 1
        os.pwrite(fd, data, 0)
    os.close(fd)
    os.unlink(path)  # the mapping keeps it: the agent reads it through /proc
    if len(spin) > 8:  # ... and the disk gets it back once unmapped
        libc.munmap(spin.pop(0), len(data))
print(files, cuts, flush=True)
"""


def test_truncated_under_reads():
    """Nobody maps executable copies of a 7 MB ELF file and truncates each, again and again,
    while the agent reads them (unwind tables, symbols, notes). A mapping of such a file
    raises SIGBUS in the reader once its pages are gone; the agent reads with pread, so it
    runs to the end and still profiles a root process beside it."""
    need("setpriv")
    d = tempfile.mkdtemp(prefix="trunc-", dir=TMP)
    os.chmod(TMP, 0o755)
    os.chown(d, pwd.getpwnam("nobody").pw_uid, -1)
    script = os.path.join(TMP, "truncate_loop.py")
    with open(script, "w") as f:
        f.write(TRUNCATE_LOOP)
    os.chmod(script, 0o644)
    big = os.path.realpath("/usr/bin/python3")
    check(os.path.getsize(big) > 4 << 20, "a big ELF file to copy: %s (%d bytes)"
          % (big, os.path.getsize(big)))
    liar = subprocess.Popen(AS_NOBODY + ["/usr/bin/python3", script, big, d, "25"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = start([os.path.join(FIX, "shares"), "30"])
    out = os.path.join(TMP, "trunc.pb.gz")
    try:
        time.sleep(1)
        # system-wide: the agent reads the maps of processes it is not told of again as
        # they change
        r = run_agent(["--duration", "20s", "--sample-rate", str(HZ), "--output", out],
                      timeout=90)
        said, err = liar.communicate(timeout=30)
    finally:
        stop(victim)
        if liar.poll() is None:
            liar.kill()
            liar.wait()
    check(r.returncode == 0, "the agent ran to the end (exit %d, %s)"
          % (r.returncode, "SIGBUS" if r.returncode == -signal.SIGBUS else
             r.stderr.strip()[-300:]))
    files, cuts = (int(x) for x in said.split()) if said.strip() else (0, 0)
    check(files >= 30 and cuts >= 1000, "nobody mapped %d files and cut them %d times"
          " while the agent ran (%s)" % (files, cuts, err.strip()[-200:]))
    stacks = pprof_check.stacks(load_profile(out, HZ))
    vic = [s for s in stacks if s["labels"].get("pid") == str(victim.pid)]
    hot = total(vic, lambda s: any(f.startswith("hot_") for f in s["frames"]))
    check(total(vic) >= 300 and hot >= 0.9 * total(vic),
          "the root process is profiled and named (%d of %d in hot_*)" % (hot, total(vic)))
    att = total([s for s in stacks if s["labels"].get("pid") == str(liar.pid)])
    check(att >= 300, "and so is nobody's (%d samples)" % att)


TESTS = [test_perf_map_symlink_to_root_file, test_fifo_traps_do_not_hang,
         test_perf_map_owned_by_root,
         test_perf_map_of_the_process_user, test_threads_hold_only_steady_caps,
         test_local_run_keeps_only_what_writing_needs, test_unit_user_keeps_only_steady_caps,
         test_cgroup_names_not_spoofed, test_cgroup_names_not_spoofed_v1,
         test_server_url_credentials_never_logged,
         test_pods_from_the_verified_api_server, test_systemd_sandbox_fits_the_agent,
         test_bloat_symbols_bounded, test_span_symbol_once_per_file, test_perf_map_bloat_capped,
         test_perf_map_append_not_reparsed, test_java_attach_not_where_user_cannot_write,
         test_far_fdes_do_not_crowd_out_python, test_nop_padded_fdes_cost_bounded_cpu,
         test_claimed_build_id_not_shared, test_truncated_under_reads]


def main():
    if os.geteuid() != 0:
        print("security tests need root (CAP_BPF, CAP_PERFMON, chown); failing loudly")
    rc = run("security", TESTS, sys.argv[1:])
    shutil.rmtree(TMP, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
