//! `struct luo_ser`: golden blobs from the reference layouts, round trips, every refusal.

use crate::support::Blob;
use crate::support::LE;
use liveupdate_abi::PhysAddr;
use liveupdate_abi::linux::luo::{LuoAbi, LuoSer, MAX_COMPAT_FIELD};
use liveupdate_abi::linux::{LinuxError, NameFault, Struct, Where};
use proptest::prelude::*;

/// luo-v3: `char compatible[ALIGN(sizeof("luo-v3"), 8) = 8]; u64 liveupdate_num; u64
/// sessions_pa; u64 flbs_pa` = 32 bytes.
fn golden_v3() -> Vec<u8> {
    Blob::new()
        .str_field("luo-v3", 8)
        .u64(41)
        .u64(0x1_2345_6000)
        .u64(0x7_0000_1000)
        .build()
}

/// "luo-v5;block-v1": 16-byte compatible, 40 bytes.
fn golden_v5_block() -> Vec<u8> {
    Blob::new()
        .str_field("luo-v5;block-v1", 16)
        .u64(2)
        .u64(0xA000)
        .u64(0)
        .build()
}

fn name_err(fault: NameFault) -> LinuxError {
    LinuxError::Name {
        what: Struct::LuoSer,
        index: 0,
        at: Where::Offset(0),
        fault,
    }
}

#[test]
fn golden_luo_v3_decodes_and_reencodes_bit_for_bit() {
    let blob = golden_v3();
    assert_eq!(blob.len(), 32);
    let ser = LuoSer::decode(&blob, LE).unwrap();
    assert_eq!(ser.compatible(), "luo-v3");
    assert_eq!(ser.abi(), Some(LuoAbi::V3));
    assert_eq!(ser.liveupdate_num(), 41);
    assert_eq!(ser.sessions_pa(), PhysAddr::new(0x1_2345_6000));
    assert_eq!(ser.flbs_pa(), PhysAddr::new(0x7_0000_1000));
    assert_eq!(ser.len(), 32);
    assert!(!ser.abi().unwrap().sessions_in_blocks());

    let mut out = [0xEEu8; 64];
    let len = LuoSer::encode(
        &mut out,
        "luo-v3",
        LE,
        41,
        PhysAddr::new(0x1_2345_6000),
        PhysAddr::new(0x7_0000_1000),
    )
    .unwrap();
    assert_eq!(&out[..len], &blob[..]);
    assert!(
        out[len..].iter().all(|&b| b == 0xEE),
        "bytes past the blob untouched"
    );
}

#[test]
fn golden_composite_compatible_takes_sixteen_bytes() {
    let blob = golden_v5_block();
    assert_eq!(blob.len(), 40);
    let ser = LuoSer::decode(&blob, LE).unwrap();
    assert_eq!(ser.abi(), Some(LuoAbi::V5BlockV1));
    assert_eq!(
        (ser.liveupdate_num(), ser.sessions_pa(), ser.flbs_pa()),
        (2, PhysAddr::new(0xA000), PhysAddr::NULL)
    );
    assert!(ser.abi().unwrap().sessions_in_blocks());
    assert_eq!(
        LuoSer::decode_expecting(&blob, "luo-v5;block-v1", LE).unwrap(),
        ser
    );
}

#[test]
fn every_known_abi_has_the_kernel_blob_size() {
    let sizes: Vec<_> = LuoAbi::ALL
        .iter()
        .map(|a| (a.compatible(), a.blob_len()))
        .collect();
    assert_eq!(
        sizes,
        [
            ("luo-v3", 32),
            ("luo-v3-kho-block-v1", 48),
            ("luo-v4-kho-block-v1", 48),
            ("luo-v4", 32),
            ("luo-v5", 32),
            ("luo-v5;block-v1", 40),
        ]
    );
    for abi in LuoAbi::ALL {
        let mut out = vec![0u8; abi.blob_len()];
        LuoSer::encode(
            &mut out,
            abi.compatible(),
            LE,
            1,
            PhysAddr::new(2),
            PhysAddr::new(3),
        )
        .unwrap();
        assert_eq!(LuoSer::decode(&out, LE).unwrap().abi(), Some(abi));
        assert_eq!(LuoAbi::from_compatible(abi.compatible()), Some(abi));
    }
}

#[test]
fn unknown_but_well_formed_compatibles_decode_without_an_abi() {
    let blob = Blob::new()
        .str_field("luo-v9;a;b", 16)
        .u64(1)
        .u64(2)
        .u64(3)
        .build();
    let ser = LuoSer::decode(&blob, LE).unwrap();
    assert_eq!((ser.compatible(), ser.abi()), ("luo-v9;a;b", None));
    assert_eq!(
        LuoSer::decode_expecting(&blob, "luo-v3", LE),
        Err(name_err(NameFault::Mismatch))
    );
}

#[test]
fn length_must_be_what_the_compatible_implies() {
    let blob = golden_v3();
    assert_eq!(
        LuoSer::decode(&blob[..31], LE),
        Err(LinuxError::TooShort {
            what: Struct::LuoSer,
            needed: 32,
            found: 31
        })
    );
    let mut long = blob.clone();
    long.push(0);
    assert_eq!(
        LuoSer::decode(&long, LE),
        Err(LinuxError::TooLong {
            what: Struct::LuoSer,
            max: 32,
            found: 33
        })
    );
    // No NUL in a short input: the string is at least that long.
    assert_eq!(
        LuoSer::decode(b"luo-v3", LE),
        Err(LinuxError::TooShort {
            what: Struct::LuoSer,
            needed: 32,
            found: 6
        })
    );
    assert_eq!(
        LuoSer::decode(&[], LE),
        Err(LinuxError::TooShort {
            what: Struct::LuoSer,
            needed: 32,
            found: 0
        })
    );
}

#[test]
fn compatible_faults_are_named() {
    let with = |compat: &[u8; 8]| Blob::new().bytes(compat).u64(0).u64(0).u64(0).build();
    assert_eq!(
        LuoSer::decode(&with(b"\0uo-v3\0\0"), LE),
        Err(name_err(NameFault::Empty))
    );
    assert_eq!(
        LuoSer::decode(&with(b"luo v3\0\0"), LE),
        Err(name_err(NameFault::NotPrintable { at: 3 }))
    );
    assert_eq!(
        LuoSer::decode(&with(b"luo-v3\0x"), LE),
        Err(name_err(NameFault::Padding { at: 7 }))
    );
    assert_eq!(
        LuoSer::decode(&with(b"pci-v1\0\0"), LE),
        Err(name_err(NameFault::Prefix))
    );
    let composite = |s: &str| Blob::new().str_field(s, 16).u64(0).u64(0).u64(0).build();
    assert_eq!(
        LuoSer::decode(&composite("luo-v5;b;a"), LE),
        Err(name_err(NameFault::ComponentOrder))
    );
    assert_eq!(
        LuoSer::decode(&composite("luo-v5;a;a"), LE),
        Err(name_err(NameFault::ComponentOrder))
    );
    assert_eq!(
        LuoSer::decode(&composite("luo-v5;;a"), LE),
        Err(name_err(NameFault::Empty))
    );
    // 64 bytes without a NUL: longer than any compatible field.
    assert_eq!(
        LuoSer::decode(&[b'l'; MAX_COMPAT_FIELD + 24], LE),
        Err(name_err(NameFault::Unterminated))
    );
}

#[test]
fn encoder_refuses_what_the_decoder_refuses() {
    let mut out = [0u8; 128];
    assert_eq!(
        LuoSer::encode(
            &mut out,
            "pci-v1",
            LE,
            0,
            PhysAddr::new(0),
            PhysAddr::new(0)
        ),
        Err(name_err(NameFault::Prefix))
    );
    assert_eq!(
        LuoSer::encode(&mut out, "", LE, 0, PhysAddr::new(0), PhysAddr::new(0)),
        Err(name_err(NameFault::Empty))
    );
    assert_eq!(
        LuoSer::encode(
            &mut out,
            "luo-v3 x",
            LE,
            0,
            PhysAddr::new(0),
            PhysAddr::new(0)
        ),
        Err(name_err(NameFault::NotPrintable { at: 6 }))
    );
    let long = format!("luo-v{}", "9".repeat(60));
    assert_eq!(
        LuoSer::encode(&mut out, &long, LE, 0, PhysAddr::new(0), PhysAddr::new(0)),
        Err(name_err(NameFault::TooLong { max: 63 }))
    );
    assert_eq!(
        LuoSer::encode(
            &mut out[..39],
            "luo-v5;block-v1",
            LE,
            0,
            PhysAddr::new(0),
            PhysAddr::new(0),
        ),
        Err(LinuxError::BufferTooSmall {
            what: Struct::LuoSer,
            needed: 40,
            found: 39
        })
    );
}

#[test]
fn errors_display_what_and_where() {
    let e = LuoSer::decode(&golden_v3()[..31], LE).unwrap_err();
    assert_eq!(e.to_string(), "luo_ser: too short: need 32 bytes, found 31");
    let e = LuoSer::decode_expecting(&golden_v3(), "luo-v5", LE).unwrap_err();
    assert_eq!(
        e.to_string(),
        "luo_ser 0: name at offset 0: not the expected compatible"
    );
}

proptest! {
    #[test]
    fn any_valid_compatible_round_trips(
        version in 0u32..1000,
        subs in proptest::collection::btree_set("[a-z][a-z0-9-]{0,6}", 0..4),
        num: u64, sessions: u64, flbs: u64,
    ) {
        let mut compat = format!("luo-v{version}");
        for s in &subs {
            compat.push(';');
            compat.push_str(s);
        }
        prop_assume!(compat.len() < MAX_COMPAT_FIELD);
        let mut out = [0u8; 96];
        let len = LuoSer::encode(&mut out, &compat, LE, num, PhysAddr::new(sessions), PhysAddr::new(flbs)).unwrap();
        prop_assert_eq!(len, LuoSer::len_for(&compat));
        prop_assert_eq!(len % 8, 0);
        let ser = LuoSer::decode(&out[..len], LE).unwrap();
        prop_assert_eq!(ser.compatible(), compat.as_str());
        prop_assert_eq!((ser.liveupdate_num(), ser.sessions_pa().raw(), ser.flbs_pa().raw()), (num, sessions, flbs));
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        let _ = LuoSer::decode(&bytes, LE).map_err(|e| e.to_string());
    }
}

#[test]
fn lenient_decoding_warns_where_the_kernel_accepts() {
    let mut blob = Blob::new()
        .str_field("luo-v5", 8)
        .u64(1)
        .u64(2)
        .u64(3)
        .build();
    blob[7] = b'x'; // after the NUL: strncmp() stops before it
    blob.extend_from_slice(&[0xAA; 8]); // past sizeof(luo_ser)
    assert_eq!(
        LuoSer::decode(&blob, LE).unwrap_err(),
        LinuxError::TooLong {
            what: Struct::LuoSer,
            max: 32,
            found: 40
        }
    );
    assert_eq!(
        LuoSer::decode(&blob[..32], LE).unwrap_err(),
        name_err(NameFault::Padding { at: 7 })
    );
    let mut warnings = Vec::new();
    let ser = LuoSer::decode_lenient(&blob, LE, &mut |e| warnings.push(e)).unwrap();
    assert_eq!(
        (ser.compatible(), ser.abi(), ser.len(), ser.flbs_pa()),
        ("luo-v5", Some(LuoAbi::V5), 32, PhysAddr::new(3))
    );
    assert_eq!(
        warnings,
        [
            LinuxError::TooLong {
                what: Struct::LuoSer,
                max: 32,
                found: 40
            },
            name_err(NameFault::Padding { at: 7 })
        ]
    );
    // What the kernel refuses stays refused.
    let mut none = Vec::new();
    assert!(LuoSer::decode_lenient(&blob[..31], LE, &mut |e| none.push(e)).is_err());
    assert!(none.is_empty());
}
