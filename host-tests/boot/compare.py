#!/usr/bin/env python3
"""Compares a boot stub's serial report with `luo dump --json` of the same handover image.

    compare.py --dump DUMP.json --report SERIAL.txt --status N --machine "aarch64 (...)"
               [--expect ok|refused] [--smp CPUS] [--stack-out FILE] [--stack-limit BYTES]

--expect ok (the default): every pass (each `luo-stub: start` line begins one) must report
exactly the image's records (kind, phys, len, crc, blocks, in dump order), its generation, its
device count with every preserved device confirmed and every absent one denied, every identity
matched (ABI 1.1), every FLB by name with its file count retrieved and finished once, the
outgoing handover read back the same, `result=ok`, and the exit status 0. With --smp N, the
last pass must also carry the SMP line: N CPUs, lookups and gets > 0, after_finish=0,
finish_runs=1, no wrong answer, no error. FP must be trapped when the start line says fp=.
--expect refused: the report must end with result=error and a typed error, status 1.

Prints one summary line (`boot MACHINE: PASS ...` or `boot MACHINE: FAIL ...` with the
reasons) and exits 0 or 1. --stack-out writes the stack figures (entry bytes, the largest of
the passes) for the README table. --stack-limit fails the run when any entry point's mark
(the other CPUs' loops included) reaches BYTES, or a mark is saturated.
"""

import argparse
import json
import sys

PREFIX = "luo-stub: "


def parse_line(line):
    """`key=value key="quoted value" word` -> (first word, dict)."""
    body = line[len(PREFIX):]
    fields, word, i = {}, None, 0
    while i < len(body):
        if body[i] == " ":
            i += 1
            continue
        j = i
        while j < len(body) and body[j] not in " =":
            j += 1
        key = body[i:j]
        if j < len(body) and body[j] == "=":
            if j + 1 < len(body) and body[j + 1] == '"':
                end = body.rfind('"')
                fields[key] = body[j + 2:end]
                i = end + 1
                continue
            k = j + 1
            while k < len(body) and body[k] != " ":
                k += 1
            fields[key] = body[j + 1:k]
            i = k
        else:
            if word is None:
                word = key
            i = j
    return word, fields


def passes(text):
    """The report's lines, split into passes at each `start` line."""
    out = []
    for raw in text.splitlines():
        raw = raw.strip("\r")
        at = raw.find(PREFIX)
        if at < 0:
            continue
        line = raw[at:]
        word, fields = parse_line(line)
        if word == "start":
            out.append([])
        if out:
            out[-1].append((word, fields, line))
    return out


def expected_records(dump):
    recs = [("root", dump["root"]["phys"], dump["root"]["len"], dump["root"]["crc"], 1)]
    tables = {"flb table": dump.get("flb_table"), "pci table": dump.get("pci_table")}
    for d in dump["directory"]:
        t = tables.get(d["kind"])
        blocks = len(t["blocks"]) if t else 1
        recs.append((d["kind"].replace(" ", "-"), d["phys"], d["len"], d["crc"], blocks))
    return recs


def check_pass(p, dump, smp, problems, label):
    def fail(msg):
        problems.append(f"{label}: {msg}")

    start = p[0][1]
    if start.get("fp", "trapped") != "trapped":
        fail(f"FP not trapped: fp={start.get('fp')}")
    got = [
        (f["kind"], int(f["phys"], 16), int(f["len"]), int(f["crc"], 16), int(f["blocks"]))
        for w, f, _ in p
        if w == "record"
    ]
    want = expected_records(dump)
    if got != want:
        fail(f"records {got} != dump {want}")
    gen_lines = [line for _, _, line in p if line.startswith(PREFIX + "generation=")]
    if gen_lines != [f"{PREFIX}generation={dump['root']['generation']}"]:
        fail(f"generation {gen_lines} != {dump['root']['generation']}")
    n = len(dump["devices"])
    pci = [f for w, f, _ in p if w == "pci"]
    if len(pci) != 1:
        fail("no pci line")
    else:
        f = pci[0]
        if int(f["devices"]) != n or f["preserved"] != f"{n}/{n}":
            fail(f"pci devices={f['devices']} preserved={f['preserved']}, dump has {n}")
        denied, asked = (int(x) for x in f["absent_denied"].split("/"))
        if denied != asked or (n > 0 and asked == 0):
            fail(f"absent_denied={f['absent_denied']}")
        with_identity = sum(1 for d in dump["devices"] if d.get("vendor_id") is not None)
        if int(f["identities"]) != with_identity:
            fail(f"identities={f['identities']}, dump has {with_identity}")
    flbs = {f["name"]: f for w, f, _ in p if w == "flb"}
    want_flbs = {e["name"]: e["file_count"] for e in dump["flbs"]}
    if set(flbs) != set(want_flbs):
        fail(f"FLBs {sorted(flbs)} != dump {sorted(want_flbs)}")
    for name, f in flbs.items():
        if int(f["files"]) != want_flbs.get(name) or f["retrieved"] != "1" or f["finished"] != "1":
            fail(f"FLB {name}: {f}")
    outgoing = [f for w, f, _ in p if w == "outgoing"]
    if not outgoing or outgoing[0].get("reloaded") != "same":
        fail(f"outgoing handover: {outgoing}")
    elif int(outgoing[0]["devices"]) != n or int(outgoing[0]["flbs"]) != len(want_flbs):
        fail(f"outgoing counts: {outgoing[0]}")
    if smp:
        s = [f for w, f, _ in p if w == "smp"]
        if len(s) != 1:
            fail("no smp line")
        else:
            f = s[0]
            bad = (
                int(f["cpus"]) != smp
                or int(f["lookups"]) == 0
                or int(f["gets"]) == 0
                or f["after_finish"] != "0"
                or f["finish_runs"] != "1"
                or f["early_finish"] != "0"
                or f["wrong"] != "0"
                or f["errors"] != "0"
            )
            if bad:
                fail(f"smp: {f}")
    for _, _, line in p:
        if line.startswith(PREFIX + "mismatch") or line.startswith(PREFIX + "exception"):
            fail(line[len(PREFIX):])
    if p[-1][2] != PREFIX + "result=ok":
        fail(f"last line: {p[-1][2]!r}")


def stacks(ps):
    figures = {}
    for p in ps:
        for w, f, _ in p:
            if w == "stack":
                name = f["entry"] + (f" (cpu {f['cpu']})" if "cpu" in f else "")
                figures[name] = max(figures.get(name, 0), int(f["bytes"]))
    return figures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--status", type=int, required=True)
    ap.add_argument("--machine", required=True)
    ap.add_argument("--expect", choices=["ok", "refused"], default="ok")
    ap.add_argument("--smp", type=int, default=0)
    ap.add_argument("--stack-out")
    ap.add_argument("--stack-limit", type=int, default=0)
    a = ap.parse_args()
    with open(a.report, encoding="utf-8", errors="replace") as fh:
        ps = passes(fh.read())
    problems = []
    if a.expect == "refused":
        last = ps[-1][-1][2] if ps and ps[-1] else ""
        _, f = parse_line(last) if last else (None, {})
        if not last.startswith(PREFIX + "result=error") or not f.get("error"):
            problems.append(f"expected result=error with a typed error, last line {last!r}")
        if a.status != 1:
            problems.append(f"expected status 1, got {a.status}")
        if problems:
            print(f"boot {a.machine}: FAIL " + "; ".join(problems))
            return 1
        print(f"boot {a.machine}: PASS refused, status 1: {f['error']}")
        return 0

    with open(a.dump, encoding="utf-8") as fh:
        dump = json.load(fh)
    if a.status != 0:
        problems.append(f"exit status {a.status} (124: timeout)")
    if not ps:
        problems.append("no report")
    for i, p in enumerate(ps):
        mmu = p[0][1].get("mmu")
        label = f"pass {i}" + (f" (mmu={mmu})" if mmu else "")
        check_pass(p, dump, a.smp if i == len(ps) - 1 else 0, problems, label)
    figures = stacks(ps)
    if a.stack_limit:
        over = {n: b for n, b in figures.items() if b >= a.stack_limit}
        if over:
            problems.append(f"stack at or over {a.stack_limit} bytes: {over}")
    if any(w == "stack" and "saturated" in f for p in ps for w, f, _ in p):
        problems.append("a stack mark reached the painted window (saturated)")
    if a.stack_out:
        with open(a.stack_out, "w", encoding="utf-8") as fh:
            for name, b in figures.items():
                fh.write(f"{name} {b}\n")
    if problems:
        print(f"boot {a.machine}: FAIL " + "; ".join(problems))
        return 1
    top = max(figures.items(), key=lambda kv: kv[1]) if figures else ("-", 0)
    print(
        f"boot {a.machine}: PASS {len(dump['devices'])} devices, {len(dump['flbs'])} FLBs, "
        f"{len(ps)} pass(es), stack max {top[1] / 1024:.1f} KiB ({top[0]})"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyError, ValueError, IndexError, OSError) as e:
        print(f"boot: FAIL the report or the dump could not be read: {e!r}")
        sys.exit(1)
