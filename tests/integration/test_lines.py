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
import sys
import tempfile
import time

from harness import (FIX, check, need, need_debug_file, pprof_check, profile_fixture, run,
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


def check_hot_inline(prof, binary, reference):
    """The hottest leaf Location is in binary, has two Lines mix then hot, and every Location
    of binary equals eu-addr2line -i on reference at its address."""
    locs, leaf = locations(prof)
    mine = {i: l for i, l in locs.items() if l[0] == binary}
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
    check(n >= 150, "at least 150 samples (got %d)" % n)
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
    """libc frames get file and line from libc6-dbg, as eu-addr2line -i reads them."""
    need_tools("eu-addr2line")
    need_debug_file(LIBC, "libc6-dbg")
    prof, _, _ = profile_fixture(["lines_hot"], os.path.join(TMP, "libc.pb.gz"), 3, HZ)
    locs, _ = locations(prof)
    libc = [l for l in locs.values() if os.path.realpath(l[0]) == os.path.realpath(LIBC)]
    check(libc, "libc frames in the profile")
    check(all(l[2] and l[2][-1][1] and l[2][-1][2] for l in libc),
          "every libc Location has a file and line: %s" % [l[2] for l in libc][:3])
    ref = addr2line(LIBC, [l[1] for l in libc])
    bad = [(hex(l[1]), l[2], r) for l, r in zip(libc, ref) if l[2] != r]
    check(not bad, "libc Locations equal eu-addr2line -i's chains (%s)" % bad[:2])


TESTS = [test_inline_location_matches_addr2line, test_lines_off, test_libc_lines]

if __name__ == "__main__":
    if os.geteuid() != 0:
        print("test_lines needs root (BPF)")
        print("lines: 0 passed, 1 failed")
        sys.exit(1)
    sys.exit(run("lines", TESTS, sys.argv[1:]))
