#!/usr/bin/env python3
"""Flips one bit inside a record of a flat handover image (luo write --flat).

usage: flip.py DUMP_JSON FLAT OUT KIND
  DUMP_JSON  `luo dump --json IMAGE` of the same handover (where the records are)
  KIND       "pci table", "flb table" or "root": the record to corrupt (its first block)

The bit is bit 0 of the first byte after the record's 64-byte header (the first entry), so
the record's CRC no longer matches. Prints what it flipped.
"""
import json
import sys


def main():
    dump_json, flat, out, kind = sys.argv[1:5]
    with open(dump_json) as f:
        dump = json.load(f)
    data = bytearray(open(flat, "rb").read())
    base = int.from_bytes(data[8:16], "little")
    if kind == "root":
        record = dump["root"]
    else:
        key = kind.replace(" ", "_")
        record = dump[key]["blocks"][0]
    phys = record["phys"] + record.get("header_len", 64)
    offset = phys - base
    if not 64 <= offset < len(data) or phys >= record["phys"] + record["len"]:
        sys.exit(f"flip.py: {kind} at {record['phys']:#x} is not inside the flat file")
    data[offset] ^= 0x01
    open(out, "wb").write(bytes(data))
    print(
        f"flipped bit 0 of the byte at phys {phys:#x} (file offset {offset:#x}) inside the "
        f"{kind} record at {record['phys']:#x} (len {record['len']})"
    )


if __name__ == "__main__":
    main()
