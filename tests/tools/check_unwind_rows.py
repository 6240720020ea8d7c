#!/usr/bin/python3
"""Checks `stoker unwind-table FILE --rows` against `readelf -wF FILE` (binutils' own CFI
reader): every row of every FDE must give the same CFA, saved-rbp and return-address rules,
and every FDE end not followed by another FDE must stop the rule. Prints "N passed, N failed"
over files; exit 1 on any mismatch."""
import bisect
import re
import subprocess
import sys

STOKER = "build/stoker"


def readelf_fdes(path):
    # readelf exits 1 on harmless warnings (e.g. unknown notes): judge by what it printed
    out = subprocess.run(["readelf", "-wF", path], capture_output=True, text=True).stdout
    cies, fdes, cur, cols = {}, [], None, None
    for line in out.splitlines():
        m = re.match(r"^([0-9a-f]+) [0-9a-f]+ [0-9a-f]+ CIE \"([^\"]*)\"", line)
        if m:
            cur = {"aug": m.group(2), "rows": []}
            cies[int(m.group(1), 16)] = cur
            continue
        m = re.match(r"^[0-9a-f]+ [0-9a-f]+ [0-9a-f]+ FDE cie=([0-9a-f]+) pc=([0-9a-f]+)\.\.([0-9a-f]+)", line)
        if m:
            cur = {"cie": int(m.group(1), 16), "lo": int(m.group(2), 16), "hi": int(m.group(3), 16), "rows": []}
            fdes.append(cur)
            continue
        if "ZERO terminator" in line:
            cur = None
            continue
        if line.strip().startswith("LOC"):
            cols = line.split()
            continue
        m = re.match(r"^([0-9a-f]{8,16}) +(\S+)(.*)$", line)
        if m and cur is not None and cols:
            toks = []
            for t in [m.group(2)] + m.group(3).split():
                if t.startswith("(") and toks:  # "r10 (r10)": one register-rule column
                    toks[-1] += " " + t
                else:
                    toks.append(t)
            vals = dict(zip(cols[1:], toks))
            cur["rows"].append((int(m.group(1), 16), vals))
    for f in fdes:
        cie = cies.get(f["cie"], {"aug": "", "rows": []})
        f["aug"] = cie["aug"]
        if not f["rows"] and cie["rows"]:
            f["rows"] = [(f["lo"], cie["rows"][0][1])]
    return fdes


def stoker_rows(path):
    out = subprocess.run([STOKER, "unwind-table", path, "--rows"], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines()[1:]:
        pc, rule = line.split(" ", 1)
        rows.append((int(pc, 16), rule))
    return rows


def expected(vals, aug):
    if "S" in aug:
        return "signal"
    ra = vals.get("ra", "u")
    if ra == "u":
        return "end"
    cfa = vals["CFA"]
    if ra != "c-8":
        return "invalid"
    if cfa == "exp":
        return "exp"
    m = re.match(r"^(rsp|rbp)\+(\d+)$", cfa)
    if not m:
        return "invalid"
    s = "%s+%d" % (m.group(1), int(m.group(2)))
    rbp = vals.get("rbp", "u")
    if rbp.startswith("c"):
        s += " rbp=c%+d" % int(rbp[1:])
    elif rbp not in ("u", "s"):
        s += " rbp=u"
    return s


def check(path):
    fdes = readelf_fdes(path)
    rows = stoker_rows(path)
    pcs = [r[0] for r in rows]
    starts = {f["lo"] for f in fdes}
    bad, checked = [], 0

    def ours(pc):
        i = bisect.bisect_right(pcs, pc) - 1
        return rows[i][1] if i >= 0 else None

    for f in fdes:
        for loc, vals in f["rows"]:
            if loc >= f["hi"]:
                continue
            want, got = expected(vals, f["aug"]), ours(loc)
            checked += 1
            if want == "exp":
                ok = got is not None and (got.startswith("plt(") or got.startswith("*(") or got == "invalid")
            else:
                ok = got == want
            if not ok:
                bad.append("%#x: readelf %s -> want %r, stoker %r" % (loc, vals, want, got))
        if f["hi"] not in starts:
            checked += 1
            if ours(f["hi"]) != "invalid":
                bad.append("%#x: end of FDE %#x..%#x not marked invalid (%r)" % (f["hi"], f["lo"], f["hi"], ours(f["hi"])))
    return checked, bad


def main():
    passed = failed = 0
    for path in sys.argv[1:]:
        checked, bad = check(path)
        if bad or checked == 0:
            failed += 1
            print("not ok - %s: %d of %d rows differ from readelf -wF" % (path, len(bad), checked))
            for b in bad[:10]:
                print("   ", b)
        else:
            passed += 1
            print("ok - %s: %d rows agree with readelf -wF" % (path, checked))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
