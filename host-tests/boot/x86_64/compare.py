#!/usr/bin/env python3
"""Compares a boot stub's serial report with `luo dump --json` of the same handover.

usage: compare.py LOG DUMP_JSON [BASE]

Checks (DESIGN.md "The report"): the run ends with result=ok; the locator names the dump's
root record (and BASE when given); the stub's records are exactly the dump's (kind, phys,
len, crc); the generation; every preserved device answered and every absent one denied; one
flb line per FLB with the dump's file count, retrieved and finished once. Prints a summary
("64 devices, 5 FLBs, stack max 1.9 KiB") on success; prints every difference and exits 1
otherwise.
"""
import json
import re
import sys

PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def parse(line):
    fields = {}
    for key, value in PAIR.findall(line):
        fields[key] = value[1:-1] if value.startswith('"') else value
    return fields


def num(text):
    return int(text, 0)


def main():
    log_path, dump_path = sys.argv[1:3]
    base = int(sys.argv[3], 0) if len(sys.argv) > 3 else None
    with open(dump_path) as f:
        dump = json.load(f)
    lines = []
    with open(log_path, "rb") as f:
        for raw in f.read().decode("utf-8", "replace").replace("\r", "").split("\n"):
            if raw.startswith("luo-stub: "):
                rest = raw[len("luo-stub: "):]
                tag, _, tail = rest.partition(" ")
                lines.append((tag, parse(tail), rest))
    errors = []

    def expect(cond, what):
        if not cond:
            errors.append(what)

    results = [rest for tag, _, rest in lines if tag.startswith("result=")]
    expect(results == ["result=ok"], f"result lines {results}, expected exactly result=ok")
    if lines:
        expect(lines[-1][2] == "result=ok", f"last line {lines[-1][2]!r}, expected result=ok")

    root = dump["root"]
    locators = [f for tag, f, _ in lines if tag == "locator"]
    expect(len(locators) == 1, f"{len(locators)} locator lines, expected 1")
    for loc in locators:
        expect(num(loc.get("root", "-1")) == root["phys"],
               f"locator root={loc.get('root')}, dump root phys={root['phys']:#x}")
        expect(num(loc.get("root_len", "-1")) == root["len"],
               f"locator root_len={loc.get('root_len')}, dump root len={root['len']}")
        if base is not None:
            expect(num(loc.get("base", "-1")) == base, f"locator base={loc.get('base')}, expected {base:#x}")

    want = {("root", root["phys"], root["len"], root["crc"])}
    for table in ("flb_table", "pci_table"):
        for block in (dump.get(table) or {}).get("blocks", []):
            want.add((block["kind"], block["phys"], block["len"], block["crc"]))
    got = set()
    for tag, f, rest in lines:
        if tag == "record":
            try:
                got.add((f["kind"].replace("-", " "), num(f["phys"]), num(f["len"]), num(f["crc"])))
            except (KeyError, ValueError):
                errors.append(f"unreadable record line {rest!r}")
    for r in sorted(want - got):
        errors.append(f"record in the dump, not reported: kind={r[0]} phys={r[1]:#x} len={r[2]} crc={r[3]:#x}")
    for r in sorted(got - want):
        errors.append(f"record reported, not in the dump: kind={r[0]} phys={r[1]:#x} len={r[2]} crc={r[3]:#x}")

    gens = [f.get("generation", tag.partition("=")[2]) for tag, f, _ in lines if tag.startswith("generation")]
    expect(gens == [str(root["generation"])], f"generation {gens}, dump {root['generation']}")

    devices = len(dump.get("devices", []))
    pcis = [f for tag, f, _ in lines if tag == "pci"]
    expect(len(pcis) == 1, f"{len(pcis)} pci lines, expected 1")
    for pci in pcis:
        expect(pci.get("devices") == str(devices), f"pci devices={pci.get('devices')}, dump {devices}")
        expect(pci.get("preserved") == f"{devices}/{devices}",
               f"pci preserved={pci.get('preserved')}, expected {devices}/{devices}")
        absent = pci.get("absent_denied", "")
        a, _, b = absent.partition("/")
        expect(a == b and a != "", f"pci absent_denied={absent}, expected M/M")

    want_flbs = {f["name"]: f["file_count"] for f in dump.get("flbs", [])}
    got_flbs = {}
    for tag, f, rest in lines:
        if tag == "flb":
            got_flbs[f.get("name")] = num(f.get("files", "-1"))
            expect(f.get("retrieved") == "1" and f.get("finished") == "1",
                   f"flb {f.get('name')}: retrieved={f.get('retrieved')} finished={f.get('finished')}, expected 1 and 1")
    expect(got_flbs == want_flbs, f"flbs {got_flbs}, dump {want_flbs}")

    stacks = [num(f["bytes"]) for tag, f, _ in lines if tag == "stack" and "bytes" in f]
    if errors:
        for e in errors:
            print(f"compare: {e}", file=sys.stderr)
        sys.exit(1)
    summary = f"{devices} devices, {len(want_flbs)} FLBs"
    if stacks:
        summary += f", stack max {max(stacks) / 1024:.1f} KiB"
    print(summary)


if __name__ == "__main__":
    main()
