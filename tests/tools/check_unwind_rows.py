#!/usr/bin/python3
"""Checks `stoker unwind-table FILE --rows` against `readelf -wF FILE` (binutils' own CFI
reader): every row of every FDE must give the same CFA, saved-rbp and return-address rules
(a CFA expression, "exp" in -wF, is read from `readelf -wf`: the PLT and dereference forms
must be followed exactly, any other must stop the walk), and every FDE end not followed by
another FDE must stop the rule. Prints "N passed, N failed"
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


def readelf_cfa_expressions(path):
    """{FDE start: [(loc, expression text)]} from `readelf -wf`, the raw CFA instructions:
    -wF only says "exp", which no answer can be checked against."""
    out = subprocess.run(["readelf", "-wf", path], capture_output=True, text=True).stdout
    exprs, lo, loc = {}, None, None
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ [0-9a-f]+ [0-9a-f]+ FDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\.", line)
        if m:
            lo = loc = int(m.group(1), 16)
            continue
        if re.match(r"^[0-9a-f]+ [0-9a-f]+ [0-9a-f]+ CIE", line) or "ZERO terminator" in line:
            lo = None
            continue
        m = re.match(r"^\s+DW_CFA_(?:advance_loc\d?|set_loc): .* to ([0-9a-f]+)$", line)
        if m and lo is not None:
            loc = int(m.group(1), 16)
            continue
        m = re.match(r"^\s+DW_CFA_def_cfa_expression \((.*)\)$", line)
        if m and lo is not None:
            exprs.setdefault(lo, []).append((loc, m.group(1)))
    return exprs


PLT_EXPR = re.compile(r"^DW_OP_breg7 \(rsp\): (\d+); DW_OP_breg16 \(rip\): 0; DW_OP_lit15; "
                      r"DW_OP_and; DW_OP_lit(\d+); DW_OP_ge; DW_OP_lit3; DW_OP_shl; DW_OP_plus$")
DEREF_EXPR = re.compile(r"^DW_OP_breg([67]) \((rbp|rsp)\): (-?\d+); DW_OP_deref"
                        r"(?:; DW_OP_plus_uconst: (\d+))?$")


def expected_exp(expr, vals):
    """What stoker must say for a CFA expression: the linker's PLT expression and a
    dereferenced register are followed; anything else must stop the walk ("invalid")."""
    if expr is None:
        return "invalid"
    m = PLT_EXPR.match(expr)
    if m:
        return "plt(rsp+%d,%d)" % (int(m.group(1)), int(m.group(2))) + rbp_suffix(vals)
    m = DEREF_EXPR.match(expr)
    if m:
        return "*(%s%+d)%+d" % (m.group(2), int(m.group(3)), int(m.group(4) or 0)) + \
            rbp_suffix(vals)
    return "invalid"


def rbp_suffix(vals):
    rbp = vals.get("rbp", "u")
    if rbp.startswith("c"):
        return " rbp=c%+d" % int(rbp[1:])
    if rbp not in ("u", "s"):
        return " rbp=u"
    return ""


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
    return "%s+%d" % (m.group(1), int(m.group(2))) + rbp_suffix(vals)


def check(path):
    fdes = readelf_fdes(path)
    exprs = readelf_cfa_expressions(path)
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
                # the expression in force at this row: the last one set at or before it
                expr = None
                for at, text in exprs.get(f["lo"], []):
                    if at <= loc:
                        expr = text
                want = expected_exp(expr, vals)
                ok = got == want
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
