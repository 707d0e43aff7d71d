//! `luo dump` and `luo dump --json` show every field of every record (abi/SPEC.md) in the
//! documented, versioned shape `liveupdate-dump/1` (host-tests/README.md).

mod common;

use liveupdate_host_tests::inspect;
use serde_json::Value;

const LUO: &str = env!("CARGO_BIN_EXE_luo");
const V1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/golden/v1.img");
const V2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/golden/v2.img");

fn luo(args: &[&str]) -> String {
    let out = common::command(LUO).args(args).output().expect("run luo");
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn json(img: &str) -> Value {
    serde_json::from_str(&luo(&["dump", "--json", img])).unwrap()
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

const RECORD_KEYS: [&str; 17] = [
    "block_index",
    "capacity",
    "compat",
    "crc",
    "entries",
    "entry_size",
    "generation",
    "header_len",
    "incompat",
    "kind",
    "len",
    "magic",
    "next_block",
    "phys",
    "ro_compat",
    "rewritable",
    "version",
];

#[test]
fn the_json_has_the_documented_versioned_shape() {
    for img in [V1, V2] {
        let v = json(img);
        assert_eq!(v["format"], "liveupdate-dump/1");
        assert_eq!(
            keys(&v),
            [
                "devices",
                "directory",
                "flb_table",
                "flbs",
                "format",
                "kho_name",
                "pci_table",
                "root",
                "unknown"
            ]
        );
        let mut record_keys = RECORD_KEYS.to_vec();
        record_keys.sort_unstable();
        assert_eq!(keys(&v["root"]), record_keys);
        for table in ["flb_table", "pci_table"] {
            assert_eq!(
                keys(&v[table]),
                ["blocks", "entries", "kind", "phys", "rewritable"]
            );
            for block in v[table]["blocks"].as_array().unwrap() {
                assert_eq!(keys(block), record_keys);
            }
        }
        for e in v["directory"].as_array().unwrap() {
            assert_eq!(keys(e), ["crc", "kind", "len", "magic", "phys"]);
        }
        for d in v["devices"].as_array().unwrap() {
            assert_eq!(
                keys(d),
                [
                    "address",
                    "bus",
                    "class_code",
                    "device",
                    "device_id",
                    "domain",
                    "flags",
                    "function",
                    "refcount",
                    "vendor_id"
                ]
            );
        }
    }
}

#[test]
fn every_field_matches_the_validated_handover() {
    let bytes = std::fs::read(V2).unwrap();
    let mem = inspect::open(&bytes).unwrap();
    let h = inspect::handover(&mem).unwrap();
    let v = json(V2);
    // Per-block facts of the chained PCI table.
    let pci = h.pci_table().unwrap();
    let blocks = v["pci_table"]["blocks"].as_array().unwrap();
    assert!(pci.block_count() >= 2);
    assert_eq!(blocks.len(), pci.block_count() as usize);
    for (b, j) in pci.blocks().zip(blocks) {
        let header = b.record.header();
        assert_eq!(j["phys"], b.phys.raw());
        assert_eq!(j["entries"], header.entry_count());
        assert_eq!(j["crc"], header.crc());
        assert_eq!(j["block_index"], b.index);
        assert_eq!(j["incompat"], 1, "CHAINED");
    }
    assert_eq!(
        blocks[0]["next_block"],
        pci.blocks().nth(1).unwrap().phys.raw()
    );
    assert_eq!(v["pci_table"]["entries"], pci.len());
    // Every device with its 1.1 identity and flags.
    let devices = v["devices"].as_array().unwrap();
    assert_eq!(devices.len() as u64, pci.len());
    for (d, j) in pci.items().zip(devices) {
        let identity = d.identity.expect("the golden v2 image records identities");
        assert_eq!(j["vendor_id"], identity.vendor_id());
        assert_eq!(j["device_id"], identity.device_id());
        assert_eq!(j["class_code"], identity.class_code());
        assert_eq!(j["flags"], d.flags.unwrap().bits());
        assert_eq!(j["refcount"], d.refcount);
        assert_eq!(j["address"], d.address.to_string());
    }
    // The tree shows them too.
    let tree = luo(&["dump", V2]);
    let first = pci.items().next().unwrap();
    let identity = first.identity.unwrap();
    assert!(tree.contains(&format!(
        "vendor {:#06x} device {:#06x} class {:#08x}",
        identity.vendor_id(),
        identity.device_id(),
        identity.class_code()
    )));
    for b in pci.blocks() {
        assert!(
            tree.contains(&format!(
                "block {}: pci table v1.1 at {:#x}",
                b.index,
                b.phys.raw()
            )),
            "{tree}"
        );
    }
}

#[test]
fn a_v1_0_image_has_no_identity_or_flags() {
    let v = json(V1);
    for d in v["devices"].as_array().unwrap() {
        assert!(d["vendor_id"].is_null() && d["flags"].is_null());
    }
    assert_eq!(v["pci_table"]["blocks"].as_array().unwrap().len(), 1);
    assert_eq!(v["root"]["version"], "1.0");
}
