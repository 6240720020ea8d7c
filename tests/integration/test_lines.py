#!/usr/bin/python3
"""End-to-end tests of file:line and inline frames (--lines): the -O2 -g fixture's hot sample
is one Location whose Lines are the inline chain eu-addr2line -i reports for the same address,
run independently here; --lines=false keeps function names only; libc frames get lines from
Debian's libc6-dbg; a stripped copy whose debug file only a real debuginfod serves gets the
same names and lines once fetched, and a server that is down or slow costs no samples. Needs
root; fails loudly without it. Ends with "N passed, N failed"."""
import collections
import os
import re
import socket
import subprocess
import shutil
import sys
import tempfile
import time

from harness import (free_port, FIX, check, enough, need, need_debug_file, pprof_check, profile_fixture, run,
                     start, stop)

TMP = tempfile.mkdtemp(prefix="stoker-lines-")
HZ = 99
LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"

PACKAGES = {"eu-addr2line": "elfutils", "debuginfod": "debuginfod"}


def need_tools(*tools):
    import harness
    harness.PACKAGES.update(PACKAGES)
    need(*tools)


def addr2line(path, addrs):
    """eu-addr2line --pretty-print -f -i on addrs: per address, [(function, file, line)],
    innermost first."""
    out = subprocess.run(["eu-addr2line", "--pretty-print", "-f", "-i", "-e", path] +
                         ["0x%x" % a for a in addrs], stdout=subprocess.PIPE, text=True,
                         check=True).stdout
    chains = []
    for ln in out.splitlines():
        inl = ln.startswith(" (inlined by) ")
        m = re.match(r"^(?: \(inlined by\) )?(.*) at (.*?):(\d+)(?::\d+)?$", ln)
        frame = (m.group(1), m.group(2), int(m.group(3))) if m else (ln.strip(), "", 0)
        if frame[1] == "??":  # no line info: the agent's Line has no file either
            frame = (frame[0], "", 0)
        if inl and chains:
            chains[-1].append(frame)
        else:
            chains.append([frame])
    return chains


def locations(prof):
    """{location id: (mapping file, address, [(function, file, line)])} and the self counts
    of leaf location ids."""
    s = lambda i: prof.string_table[i]
    fns = {f.id: f for f in prof.function}
    maps = {m.id: s(m.filename) for m in prof.mapping}
    locs = {}
    for l in prof.location:
        locs[l.id] = (maps.get(l.mapping_id, ""), l.address,
                      [(s(fns[x.function_id].name), s(fns[x.function_id].filename), x.line)
                       for x in l.line])
    leaf = collections.Counter()
    for smp in prof.sample:
        if smp.location_id:
            leaf[smp.location_id[0]] += smp.value[0]
    return locs, leaf


def marker_line(marker):
    with open(os.path.join(os.path.dirname(FIX), "..", "tests", "fixtures", "lines_hot.c")) as f:
        for i, ln in enumerate(f, 1):
            if marker in ln:
                return i
    raise AssertionError("marker %s not in lines_hot.c" % marker)


def check_hot_inline(prof, binary, reference, named_only=False):
    """The hottest leaf Location is in binary, has two Lines mix then hot, and every Location
    of binary (named_only: of those DWARF named, with a file) equals eu-addr2line -i on
    reference at its address."""
    locs, leaf = locations(prof)
    mine = {i: l for i, l in locs.items() if l[0] == binary and
            (not named_only or (l[2] and l[2][0][1]))}
    check(mine, "locations in %s (got mappings %s)" % (binary, sorted({l[0] for l in
                                                                     locs.values()})))
    hot_id = max((i for i in leaf if i in mine), key=lambda i: leaf[i], default=None)
    check(hot_id is not None, "a leaf sample in %s" % binary)
    _, addr, lines = mine[hot_id]
    share = leaf[hot_id] / max(sum(leaf.values()), 1)
    print("    hottest leaf 0x%x (%.0f%% of samples): %s" % (addr, 100 * share, lines))
    check([f for f, _, _ in lines] == ["mix", "hot"],
          "hot sample's Location has Lines mix (inlined) then hot: %s" % lines)
    check(all(f.endswith("tests/fixtures/lines_hot.c") for _, f, _ in lines),
          "both Lines name lines_hot.c: %s" % [f for _, f, _ in lines])
    check(lines[1][2] == marker_line("/* LINE_CALL */"),
          "hot's Line is the call of mix (line %d): %d" % (marker_line("/* LINE_CALL */"),
                                                          lines[1][2]))
    addrs = sorted({l[1] for l in mine.values()})
    ref = dict(zip(addrs, addr2line(reference, addrs)))
    bad = [(hex(l[1]), l[2], ref[l[1]]) for l in mine.values() if l[2] != ref[l[1]]]
    check(not bad and len(addrs) >= 2, "all %d Locations of %s equal eu-addr2line -i's chains "
          "(mismatches: %s)" % (len(addrs), os.path.basename(binary), bad[:3]))
    return prof


def test_inline_location_matches_addr2line():
    """-O2 -g fixture: the hot Location is mix inlined into hot, as eu-addr2line -i says."""
    need_tools("eu-addr2line")
    path = os.path.join(FIX, "lines_hot")
    prof, _, r = profile_fixture(["lines_hot"], os.path.join(TMP, "lines.pb.gz"), 4, HZ)
    n = sum(s.value[0] for s in prof.sample) // (10**9 // HZ)
    enough(n, prof)
    check_hot_inline(prof, path, path)
    m = [x for x in prof.mapping if prof.string_table[x.filename] == path][0]
    check(m.has_functions and m.has_filenames and m.has_line_numbers and m.has_inline_frames,
          "the fixture's Mapping says functions, filenames, line numbers, inline frames")
    fns = {prof.string_table[f.name]: f for f in prof.function}
    check(fns["hot"].start_line == marker_line("static void hot("),
          "Function hot starts at its declaration line (%d)" % fns["hot"].start_line)
    check(re.search(r"lines: \d+ frames with lines \(\d+ inlined frames\); \d+ files with "
                    r"lines, \d+ without debug info", r.stderr),
          "exit summary counts frames with lines and files without debug info")


def test_lines_off():
    """--lines=false: today's profile, one Line per Location, no files or lines."""
    prof, _, _ = profile_fixture(["lines_hot"], os.path.join(TMP, "nolines.pb.gz"), 3, HZ,
                                 extra=["--lines=false"])
    locs, leaf = locations(prof)
    path = os.path.join(FIX, "lines_hot")
    mine = [l for l in locs.values() if l[0] == path]
    check(mine and all(len(l[2]) == 1 and l[2][0][1] == "" and l[2][0][2] == 0 for l in mine),
          "every Location of the fixture has one Line without file or line")
    check(any(l[2][0][0] == "hot" for l in mine), "hot is named from the symbol table")
    m = [x for x in prof.mapping if prof.string_table[x.filename] == path][0]
    check(m.has_functions and not (m.has_filenames or m.has_line_numbers or
                                   m.has_inline_frames),
          "the Mapping says functions only")


def test_libc_lines():
    """libc frames (malloc and free's inlined fast paths) get files, lines and inline chains
    from libc6-dbg, as eu-addr2line -i reads them."""
    need_tools("eu-addr2line")
    need_debug_file(LIBC, "libc6-dbg")
    prof, _, _ = profile_fixture(["lines_hot", "malloc"], os.path.join(TMP, "libc.pb.gz"), 3,
                                 HZ)
    locs, leaf = locations(prof)
    libc = [l for l in locs.values() if os.path.realpath(l[0]) == os.path.realpath(LIBC)]
    check(len(libc) >= 5, "libc frames in the profile (%d Locations)" % len(libc))
    ref = addr2line(LIBC, [l[1] for l in libc])
    # eu-addr2line names no function at a few addresses (cold parts without a symbol): those
    # stay module+offset here too
    named = [l for l, r in zip(libc, ref) if r[0][0] != "??"]
    check(len(named) >= 0.9 * len(libc) and all(l[2] and l[2][-1][1] and l[2][-1][2]
                                                for l in named),
          "every libc Location eu-addr2line names has a file and line (%d of %d): %s"
          % (len(named), len(libc), [l[2] for l in libc][:3]))
    chains = [l[2] for l in libc if len(l[2]) >= 2]
    check(chains and any(c[-1][0] in ("__GI___libc_malloc", "__GI___libc_free", "_int_free")
                         for c in chains),
          "inline chains inside malloc/free: %s" % chains[:2])
    bad = [(hex(l[1]), l[2], r) for l, r in zip(libc, ref) if l[2] != r and r[0][0] != "??"]
    check(not bad, "libc Locations equal eu-addr2line -i's chains (%s)" % bad[:2])


def test_local_outputs_by_line():
    """--granularity line: folded frames hot:LINE_CALL;mix:N, --top ranks lines, and the
    HTML flame graph knows mix's file:line and that it was inlined."""
    import json
    from harness import run_agent, check_agent_ok
    fx = start([os.path.join(FIX, "lines_hot")])
    folded, html = os.path.join(TMP, "l.folded"), os.path.join(TMP, "l.html")
    try:
        time.sleep(0.3)
        r = run_agent(["--pid", str(fx.pid), "--duration", "3s", "--sample-rate", str(HZ),
                       "--output", folded, "--output", html, "--granularity", "line",
                       "--top", "3"], timeout=60)
    finally:
        stop(fx)
    check_agent_ok(r)
    call = marker_line("/* LINE_CALL */")
    with open(folded) as f:
        text = f.read()
    check(re.search(r";hot:%d;mix:\d+ \d+$" % call, text, re.M),
          "folded stacks end hot:%d;mix:LINE" % call)
    top = [ln for ln in r.stdout.splitlines() if "%" in ln and "self%" not in ln]
    check(top and re.search(r"mix at .*tests/fixtures/lines_hot\.c:\d+$", top[0]),
          "--top ranks mix's lines first: %s" % top[:2])
    with open(html) as f:
        page = f.read()
    data = json.loads(page[page.index("/*STOKER_DATA_BEGIN*/") + 21:
                           page.index("/*STOKER_DATA_END*/")])
    names, nodes, src, inl = data["names"], data["nodes"], data["src"], data["inl"]
    mix = [k for k in range(len(nodes) // 3) if names[nodes[3 * k]].startswith("mix:")]
    check(mix and all(inl[k] == 1 and names[src[3 * k]].endswith("lines_hot.c") and
                      src[3 * k + 1] > 0 for k in mix),
          "the page's mix nodes carry lines_hot.c:LINE and the inlined mark")
    hot = [k for k in range(len(nodes) // 3) if names[nodes[3 * k]] == "hot:%d" % call]
    check(hot and all(inl[k] == 0 and src[3 * k + 1] == call for k in hot),
          "hot's nodes are not inlined, at line %d" % call)


def test_push_inline_frames():
    """Pushed to the strict receiver: accepted, each inline Line a frame of its own (as
    Pyroscope expands them), payloads far under the server's 4 MiB."""
    import test_push
    rx = test_push.Receiver()
    fx = start([os.path.join(FIX, "lines_hot")])
    try:
        a = test_push.agent(["--pid", str(fx.pid), "--duration", "6s", "--upload-interval",
                             "2s", "--server-url", rx.url, "--spool-dir", ""])
        rc, err = test_push.finish(a)
    finally:
        stop(fx)
        rx.stop()
    check(rc == 0, "agent exits 0 (%s)" % err.strip()[-300:])
    recs = rx.records()
    check(len(recs) >= 2, "at least 2 windows received (%d)" % len(recs))
    up = [ln for ln in err.splitlines() if "uploads:" in ln]
    check(up and " 0 rejected" in up[-1], "no window rejected: %s" % up)
    total = sum(s["count"] for r in recs for s in r["stacks"])
    inl = sum(s["count"] for r in recs for s in r["stacks"] if s["frames"][-2:] == ["hot", "mix"])
    check(total and inl / total > 0.5, "most samples end hot;mix (%d of %d)" % (inl, total))
    big = max(r["raw_size"] for r in recs)
    check(big < 256 << 10, "largest window %d bytes, far under 4 MiB" % big)


def test_idle_dwarf_released_lines_kept():
    """--lines-idle 1s: once the hot addresses are answered the file's DWARF is released
    (the exit summary counts it), and every later window still has the inline chain."""
    import test_push
    rx = test_push.Receiver()
    fx = start([os.path.join(FIX, "lines_hot")])
    try:
        a = test_push.agent(["--pid", str(fx.pid), "--duration", "9s", "--upload-interval",
                             "2s", "--lines-idle", "1s", "--server-url", rx.url,
                             "--spool-dir", ""])
        rc, err = test_push.finish(a)
    finally:
        stop(fx)
        rx.stop()
    check(rc == 0, "agent exits 0 (%s)" % err.strip()[-300:])
    m = re.search(r"DWARF released (\d+) times, read again (\d+)", err)
    check(m and int(m.group(1)) >= 1, "the summary counts a release (%s)"
          % (m.group(0) if m else err.strip()[-400:]))
    recs = sorted(rx.records(), key=lambda r: r["time_nanos"])
    check(len(recs) >= 4, "at least 4 windows received (%d)" % len(recs))
    for r in recs[1:]:
        total = sum(s["count"] for s in r["stacks"])
        inl = sum(s["count"] for s in r["stacks"] if s["frames"][-2:] == ["hot", "mix"])
        check(total and inl / total > 0.5, "window at %d: most samples end hot;mix (%d of %d)"
              % (r["time_nanos"], inl, total))


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], stdout=subprocess.PIPE, text=True).stdout
    return "".join(ln.split("Build ID:")[1].strip() for ln in out.splitlines()
                   if "Build ID:" in ln)


def samples_of(prof):
    return sum(s.value[0] for s in prof.sample) // (10**9 // HZ)


def test_debuginfod_fetch():
    """A stripped copy whose debug file only Debian's debuginfod serves: same names and
    lines as eu-addr2line -i on that debug file, once fetched into the agent's cache."""
    need_tools("eu-addr2line", "debuginfod", "readelf")
    stripped = os.path.join(FIX, "lines_hot-stripped")
    debug = os.path.join(FIX, "lines-debug", "lines_hot-stripped.debug")
    bid = build_id(stripped)
    check(len(bid) == 40 and not os.path.exists("/usr/lib/debug/.build-id/%s/%s.debug" %
                                                (bid[:2], bid[2:])),
          "the stripped copy has no local debug file (build-id %s)" % bid)
    port = free_port()
    srv = subprocess.Popen(["debuginfod", "-d", ":memory:", "-p", str(port), "-F",
                            os.path.dirname(debug)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    cache = os.path.join(TMP, "cache")
    # an older fetch past the size bound: the first fetch of this run must remove it
    old = os.path.join(cache, "ab" * 20)
    os.makedirs(old, mode=0o700)
    os.chmod(cache, 0o700)
    with open(os.path.join(old, "debuginfo"), "wb") as f:
        f.write(b"\0" * (2 << 20))
    os.utime(os.path.join(old, "debuginfo"), (time.time() - 86400, time.time() - 86400))
    try:
        url = "http://127.0.0.1:%d" % port
        import urllib.request
        deadline, served = time.time() + 60, False
        while time.time() < deadline and not served:
            try:
                with urllib.request.urlopen("%s/buildid/%s/debuginfo" % (url, bid),
                                            timeout=5) as r:
                    served = r.status == 200
            except Exception:
                time.sleep(0.5)
        check(served, "debuginfod serves the debug file of %s" % bid)
        prof, _, r = profile_fixture(["lines_hot-stripped"], os.path.join(TMP, "fetch.pb.gz"),
                                     5, HZ, extra=["--debuginfod-urls", url,
                                                   "--debuginfod-cache-dir", cache,
                                                   "--debuginfod-cache-size", "1MiB"])
    finally:
        stop(srv)
    check(re.search(r"debuginfod: 1 asked, 1 fetched", r.stderr),
          "exit summary: 1 asked, 1 fetched (%s)" %
          [ln for ln in r.stderr.splitlines() if "lines:" in ln])
    check(os.path.exists(os.path.join(cache, bid, "debuginfo")),
          "the debug file is in the agent's cache")
    check(os.stat(cache).st_mode & 0o777 == 0o700, "the cache directory is private (0700)")
    check(not os.path.exists(os.path.join(old, "debuginfo")),
          "the older 2 MiB file went to keep the cache under 1 MiB")
    # samples symbolized before the file arrived keep module+offset names
    locs, leaf = locations(prof)
    before = sum(n for i, n in leaf.items() if locs[i][0] == stripped and
                 not (locs[i][2] and locs[i][2][0][1]))
    check(before < 0.5 * sum(leaf.values()), "most samples were named after the fetch "
          "(%d of %d before)" % (before, sum(leaf.values())))
    check_hot_inline(prof, stripped, debug, named_only=True)


def test_debuginfod_down_or_slow():
    """A server that refuses or never answers costs no samples and no exit delay."""
    need_tools("readelf")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # connections complete in the backlog; nothing is ever sent
    dead = free_port()
    try:
        for what, url in (("down", "http://127.0.0.1:%d" % dead),
                          ("silent", "http://127.0.0.1:%d" % silent.getsockname()[1])):
            t0 = time.time()
            prof, _, r = profile_fixture(
                ["lines_hot-stripped"], os.path.join(TMP, what + ".pb.gz"), 4, HZ,
                extra=["--debuginfod-urls", url, "--debuginfod-timeout", "60s",
                       "--debuginfod-cache-dir", os.path.join(TMP, "cache-" + what)])
            took = time.time() - t0
            n = samples_of(prof)
            print("    %s server: %d samples in %.1fs, %.0f implied by the process's CPU time"
                  % (what, n, took, prof.implied or 0))
            # every sample the process's CPU time implies (a shared machine gives it less)
            enough(n, prof, least=100)
            check(re.search(r"0 dropped \(ring buffer full\)", r.stderr) and
                  re.search(r"0 dropped \(window full\)", r.stderr),
                  "%s server: no sample dropped" % what)
            check(took < 4 + 8, "%s server: the agent exits without waiting for it (%.1fs)"
                  % (what, took))
            check(re.search(r"debuginfod: 1 asked, 0 fetched", r.stderr),
                  "%s server: asked once, nothing fetched" % what)
    finally:
        silent.close()


def test_debuginfod_unsafe_cache_refused():
    """A cache directory others may write is refused: no fetch, profiling goes on."""
    from harness import run_agent
    unsafe = os.path.join(TMP, "shared-cache")
    os.makedirs(unsafe)
    os.chmod(unsafe, 0o777)
    fx = start([os.path.join(FIX, "lines_hot-stripped")])
    try:
        time.sleep(0.3)
        r = run_agent(["--pid", str(fx.pid), "--duration", "2s", "--output",
                       os.path.join(TMP, "unsafe.pb.gz"), "--debuginfod-urls",
                       "http://127.0.0.1:%d" % free_port(), "--debuginfod-cache-dir", unsafe])
    finally:
        stop(fx)
    check(r.returncode == 0, "agent exits 0")
    check("not a directory of the agent's user with mode 0700" in r.stderr,
          "the refusal says why")
    check(os.listdir(unsafe) == [], "nothing was written into it")
    check(re.search(r"debuginfod: 0 asked", r.stderr), "nothing was asked")


def test_scratch_dir_not_ours():
    """A --scratch-dir another user owns (as the systemd unit's DynamicUser leaves
    /var/cache/stoker for a root agent run by hand) is refused, and the run uses a fresh
    directory of its own instead of reading DWARF into its heap; the directory is gone at
    exit."""
    theirs = os.path.join(TMP, "scratch-theirs")
    os.makedirs(theirs, mode=0o700)
    os.chown(theirs, 65534, 65534)
    prof, _, r = profile_fixture(["lines_hot"], os.path.join(TMP, "scratch.pb.gz"), 3, HZ,
                                 extra=["--scratch-dir", theirs])
    warned = [ln for ln in r.stderr.splitlines() if "scratch directory" in ln]
    check(warned and "using this run's own /var/tmp/stoker-scratch-" in warned[0],
          "the refusal names the directory used instead: %s" % warned)
    m = re.search(r"from scratch copies (\d+), in memory (\d+)", r.stderr)
    check(m and int(m.group(1)) >= 1 and m.group(2) == "0",
          "DWARF copied there, none read into memory (%s)" % (m.group(0) if m else r.stderr[-300:]))
    # its own, by name: the other lane's agents make theirs at the same time
    used = re.search(r"using this run's own (/var/tmp/stoker-scratch-\S+)", warned[0])
    check(used and not os.path.exists(used.group(1)), "and removed at exit (%s)"
          % (used.group(1) if used else "no path"))
    locs, _ = locations(prof)
    path = os.path.join(FIX, "lines_hot")
    check(any(l[0] == path and l[2] and l[2][0][1] for l in locs.values()),
          "the fixture's frames still have files and lines")


TESTS = [test_inline_location_matches_addr2line, test_lines_off, test_libc_lines,
         test_local_outputs_by_line, test_push_inline_frames, test_debuginfod_fetch, test_debuginfod_down_or_slow,
         test_debuginfod_unsafe_cache_refused, test_idle_dwarf_released_lines_kept,
         test_scratch_dir_not_ours]

if __name__ == "__main__":
    if os.geteuid() != 0:
        print("test_lines needs root (BPF)")
        print("lines: 0 passed, 1 failed")
        sys.exit(1)
    rc = run("lines", TESTS, sys.argv[1:])
    shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(rc)
