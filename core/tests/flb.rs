//! The FLB registry, one behaviour and one error path at a time.
// loom's primitives only work inside `loom::model`: these tests are for normal builds.
#![cfg(not(loom))]

mod common;

use liveupdate_abi::Generation;
use std::thread;

use common::{Blocking, CAP, Recorder, Registry, Seen, flb_table, leak_registry};
use liveupdate_abi::AbiVersion;
use liveupdate_abi::PhysAddr;
use liveupdate_abi::{EntryFault, FlbFlags, FlbTable, RecordKind};
use liveupdate_core::flb::{FlbError, OpsError};
use liveupdate_core::mem::{MemError, MemFault, PhysMem, SliceMemory};

const ENOMEM: OpsError = OpsError(-12);
const EIO: OpsError = OpsError(-5);

// ---------------------------------------------------------------- registration

#[test]
fn register_refuses_invalid_names() {
    let reg = Registry::new();
    let ops = Recorder::leak("x", 0, 0);
    assert_eq!(
        reg.register("", ops),
        Err(FlbError::InvalidName(EntryFault::NameEmpty))
    );
    let long: &'static str = Box::leak("n".repeat(48).into_boxed_str());
    assert_eq!(
        reg.register(long, ops),
        Err(FlbError::InvalidName(EntryFault::NameUnterminated))
    );
    assert_eq!(
        reg.register("pci v1", ops),
        Err(FlbError::InvalidName(EntryFault::NameNotPrintable {
            at: 3
        }))
    );
    // 47 bytes is the longest name.
    let longest: &'static str = Box::leak("n".repeat(47).into_boxed_str());
    assert_eq!(reg.register(longest, ops), Ok(()));
}

#[test]
fn register_refuses_duplicates_and_a_full_registry() {
    let reg = Registry::new();
    let ops = Recorder::leak("x", 0, 0);
    for name in ["d", "b", "a", "c"] {
        reg.register(name, ops).unwrap();
    }
    assert_eq!(reg.register("b", ops), Err(FlbError::Duplicate));
    assert_eq!(
        reg.register("e", ops),
        Err(FlbError::Full { capacity: CAP })
    );
    assert_eq!(
        FlbError::Full { capacity: CAP }.to_string(),
        "FLB registry full: capacity is 4 FLBs"
    );
    // Every name registered is usable.
    for name in ["a", "b", "c", "d"] {
        assert_eq!(reg.preserve_file(name), Ok(1), "{name}");
    }
}

// ---------------------------------------------------------------- outgoing

#[test]
fn preserve_runs_on_the_first_file_and_unpreserve_on_the_last() {
    let reg = Registry::new();
    let ops = Recorder::leak("iommu-v1", 0xd0, 0x0b);
    reg.register("iommu-v1", ops).unwrap();
    assert_eq!(reg.preserve_file("iommu-v1"), Ok(1));
    assert_eq!(reg.preserve_file("iommu-v1"), Ok(2));
    assert_eq!(reg.preserve_file("iommu-v1"), Ok(3));
    assert_eq!(ops.counts(), [1, 0, 0, 0]);
    assert_eq!(reg.unpreserve_file("iommu-v1"), Ok(2));
    assert_eq!(reg.unpreserve_file("iommu-v1"), Ok(1));
    assert_eq!(ops.counts(), [1, 0, 0, 0]);
    assert_eq!(reg.unpreserve_file("iommu-v1"), Ok(0));
    assert_eq!(ops.counts(), [1, 1, 0, 0]);
    assert_eq!(ops.log(), ["preserve", "unpreserve data=0xd0 object=0xb"]);
    assert_eq!(reg.unpreserve_file("iommu-v1"), Err(FlbError::NotPreserved));
    // A new first file preserves again.
    assert_eq!(reg.preserve_file("iommu-v1"), Ok(1));
    assert_eq!(ops.counts(), [2, 1, 0, 0]);
}

#[test]
fn a_failed_preserve_leaves_the_count_at_zero() {
    let reg = Registry::new();
    let ops = Recorder::leak("a", 1, 2);
    reg.register("a", ops).unwrap();
    *ops.preserve_error.lock().unwrap() = Some(ENOMEM);
    assert_eq!(
        reg.preserve_file("a"),
        Err(FlbError::PreserveFailed(ENOMEM))
    );
    assert_eq!(reg.unpreserve_file("a"), Err(FlbError::NotPreserved));
    let mut mem = SliceMemory::new(
        PhysAddr::new(0),
        vec![0u8; Registry::record_len(AbiVersion::V1_0)],
    );
    reg.serialize(
        &mut mem,
        AbiVersion::V1_0,
        PhysAddr::new(0),
        Generation::new(1),
    )
    .unwrap();
    let table = FlbTable::decode(
        mem.read(PhysAddr::new(0), Registry::record_len(AbiVersion::V1_0))
            .unwrap(),
    )
    .unwrap();
    assert!(table.entries().is_empty(), "no entry for a failed preserve");
    // The failure is not sticky on the outgoing side: the next file tries again.
    *ops.preserve_error.lock().unwrap() = None;
    assert_eq!(reg.preserve_file("a"), Ok(1));
    assert_eq!(ops.counts(), [2, 0, 0, 0]);
}

#[test]
fn unregistered_names_are_refused_on_the_outgoing_side() {
    let reg = Registry::new();
    assert_eq!(reg.preserve_file("nope"), Err(FlbError::NotRegistered));
    assert_eq!(reg.unpreserve_file("nope"), Err(FlbError::NotRegistered));
}

#[test]
fn outgoing_callbacks_may_call_the_registry_back() {
    let reg = leak_registry();
    let ops = Recorder::leak("a", 1, 2);
    ops.reenter.set(reg).unwrap();
    reg.register("a", ops).unwrap();
    assert_eq!(reg.preserve_file("a"), Ok(1));
    assert_eq!(reg.unpreserve_file("a"), Ok(0));
    assert_eq!(
        ops.seen(),
        [
            ("preserve", Seen::PreserveFile(Err(FlbError::Busy))),
            ("preserve", Seen::UnpreserveFile(Err(FlbError::Busy))),
            ("unpreserve", Seen::PreserveFile(Err(FlbError::Busy))),
            ("unpreserve", Seen::UnpreserveFile(Err(FlbError::Busy))),
        ]
    );
    assert_eq!(ops.counts(), [1, 1, 0, 0]);
}

#[test]
fn serialize_is_busy_while_a_preserve_runs() {
    let reg = leak_registry();
    let ops = Blocking::leak();
    reg.register("slow", ops).unwrap();
    let worker = thread::spawn(move || reg.preserve_file("slow"));
    ops.entered.wait();
    let mut mem = SliceMemory::new(
        PhysAddr::new(0),
        vec![0u8; Registry::record_len(AbiVersion::V1_0)],
    );
    assert_eq!(
        reg.serialize(
            &mut mem,
            AbiVersion::V1_0,
            PhysAddr::new(0),
            Generation::new(1)
        ),
        Err(FlbError::Busy)
    );
    assert!(mem.into_inner().iter().all(|&b| b == 0), "nothing written");
    assert_eq!(reg.preserve_file("slow"), Err(FlbError::Busy));
    ops.release.wait();
    assert_eq!(worker.join().unwrap(), Ok(1));
    let mut mem = SliceMemory::new(
        PhysAddr::new(0),
        vec![0u8; Registry::record_len(AbiVersion::V1_0)],
    );
    assert!(
        reg.serialize(
            &mut mem,
            AbiVersion::V1_0,
            PhysAddr::new(0),
            Generation::new(1)
        )
        .is_ok()
    );
}

#[test]
fn serialize_writes_every_preserved_flb_sorted_by_name() {
    let reg = Registry::new();
    let zeta = Recorder::leak("zeta", 0x2000, 0);
    let alpha = Recorder::leak("alpha", 0x1000, 0);
    let idle = Recorder::leak("mid", 0x3000, 0);
    reg.register("zeta", zeta).unwrap();
    reg.register("alpha", alpha).unwrap();
    reg.register("mid", idle).unwrap();
    reg.preserve_file("zeta").unwrap();
    reg.preserve_file("alpha").unwrap();
    reg.preserve_file("alpha").unwrap();
    reg.preserve_file("mid").unwrap();
    reg.unpreserve_file("mid").unwrap();

    let base = 0x4000_0000;
    let mut mem = SliceMemory::new(PhysAddr::new(base), vec![0u8; 0x1000]);
    let dir = reg
        .serialize(
            &mut mem,
            AbiVersion::V1_0,
            PhysAddr::new(base + 0x100),
            Generation::new(9),
        )
        .unwrap();
    assert_eq!(dir.kind(), Some(RecordKind::FlbTable));
    assert_eq!(dir.phys_addr(), PhysAddr::new(base + 0x100));
    assert_eq!(
        dir.length() as usize,
        Registry::record_len(AbiVersion::V1_0)
    );
    let bytes = mem
        .read(
            PhysAddr::new(base + 0x100),
            Registry::record_len(AbiVersion::V1_0),
        )
        .unwrap();
    let table = FlbTable::decode(bytes).unwrap();
    assert_eq!(dir.crc(), table.header().crc());
    assert_eq!(table.generation(), Generation::new(9));
    assert_eq!(table.header().entry_capacity() as usize, CAP);
    let got: Vec<_> = table
        .entries()
        .iter()
        .map(|e| (e.name().to_owned(), e.data(), e.file_count(), e.flags()))
        .collect();
    assert_eq!(
        got,
        [
            ("alpha".to_owned(), 0x1000, 2, FlbFlags::DATA_IS_PHYS),
            ("zeta".to_owned(), 0x2000, 1, FlbFlags::DATA_IS_PHYS),
        ]
    );
}

#[test]
fn serialize_refuses_unmapped_memory() {
    let reg = Registry::new();
    let mut mem = SliceMemory::new(
        PhysAddr::new(0x1000),
        vec![0u8; Registry::record_len(AbiVersion::V1_0) - 1],
    );
    assert_eq!(
        reg.serialize(
            &mut mem,
            AbiVersion::V1_0,
            PhysAddr::new(0x1000),
            Generation::new(1)
        ),
        Err(FlbError::Memory(MemError {
            addr: PhysAddr::new(0x1000),
            len: Registry::record_len(AbiVersion::V1_0),
            fault: MemFault::Unmapped {
                base: PhysAddr::new(0x1000),
                size: Registry::record_len(AbiVersion::V1_0) as u64 - 1
            }
        }))
    );
}

// ---------------------------------------------------------------- incoming: loading

#[test]
fn nothing_loaded_is_no_incoming_data() {
    let reg = Registry::new();
    reg.register("a", Recorder::leak("a", 0, 0)).unwrap();
    assert_eq!(reg.get("a").unwrap_err(), FlbError::NoIncomingData);
    assert_eq!(reg.peek("a"), Err(FlbError::NoIncomingData));
    assert_eq!(reg.finish_file("a"), Err(FlbError::NoIncomingData));
    assert_eq!(reg.unclaimed().count(), 0);
}

#[test]
fn load_happens_once_and_refuses_a_table_larger_than_the_registry() {
    let reg = Registry::new();
    let five = flb_table(
        8,
        &[
            ("a", 1, 1),
            ("b", 1, 1),
            ("c", 1, 1),
            ("d", 1, 1),
            ("e", 1, 1),
        ],
    );
    assert_eq!(reg.load(&five), Err(FlbError::Full { capacity: CAP }));
    assert_eq!(
        reg.peek("a"),
        Err(FlbError::NoIncomingData),
        "nothing loaded"
    );
    let four = flb_table(4, &[("a", 1, 1), ("b", 1, 1), ("c", 1, 1), ("d", 1, 1)]);
    assert_eq!(reg.load(&four), Ok(()));
    assert_eq!(reg.load(&four), Err(FlbError::AlreadyLoaded));
    assert_eq!(reg.peek("d").map(|e| e.data()), Ok(1));
}

#[test]
fn an_empty_table_is_loaded_data_without_entries() {
    let reg = Registry::new();
    reg.register("a", Recorder::leak("a", 0, 0)).unwrap();
    reg.load(&flb_table(4, &[])).unwrap();
    assert_eq!(reg.get("a").unwrap_err(), FlbError::NotFound);
}

#[test]
fn not_found_and_not_registered_are_told_apart() {
    let reg = Registry::new();
    reg.load(&flb_table(4, &[("pci-v1", 5, 1)])).unwrap();
    reg.register("pci-v2", Recorder::leak("pci-v2", 0, 0))
        .unwrap();
    // The previous kernel used another version: its entry is not this FLB's.
    assert_eq!(reg.get("pci-v2").unwrap_err(), FlbError::NotFound);
    assert_eq!(reg.finish_file("pci-v2"), Err(FlbError::NotFound));
    // An entry nobody registered.
    assert_eq!(reg.get("pci-v1").unwrap_err(), FlbError::NotRegistered);
    assert_eq!(reg.finish_file("pci-v1"), Err(FlbError::NotRegistered));
    // A name too long to be any entry's.
    assert_eq!(reg.peek(&"x".repeat(60)), Err(FlbError::NotFound));
}

// ---------------------------------------------------------------- incoming: get, finish

#[test]
fn the_first_get_retrieves_once_and_later_gets_share_the_object() {
    let reg = Registry::new();
    let ops = Recorder::leak("a", 0, 0xab);
    reg.register("a", ops).unwrap();
    reg.load(&flb_table(4, &[("a", 0x5000, 2)])).unwrap();
    let g1 = reg.get("a").unwrap();
    let g2 = reg.get("a").unwrap();
    drop(g1);
    let g3 = reg.get("a").unwrap();
    assert_eq!([g2.object(), g3.object()], [0xab, 0xab]);
    drop((g2, g3));
    let g4 = reg.get("a").unwrap();
    assert_eq!(g4.object(), 0xab);
    assert_eq!(ops.counts(), [0, 0, 1, 0]);
    assert_eq!(ops.log(), ["retrieve data=0x5000"]);
}

#[test]
fn a_failed_retrieve_is_final() {
    let reg = Registry::new();
    let ops = Recorder::leak("a", 0, 0xab);
    reg.register("a", ops).unwrap();
    reg.load(&flb_table(4, &[("a", 0x5000, 2)])).unwrap();
    *ops.retrieve_error.lock().unwrap() = Some(EIO);
    assert_eq!(reg.get("a").unwrap_err(), FlbError::RetrieveFailed(EIO));
    // Even if the callback would succeed now, it is not called again.
    *ops.retrieve_error.lock().unwrap() = None;
    assert_eq!(reg.get("a").unwrap_err(), FlbError::RetrieveFailed(EIO));
    assert_eq!(reg.peek("a"), Err(FlbError::RetrieveFailed(EIO)));
    assert_eq!(reg.finish_file("a"), Ok(1));
    assert_eq!(reg.finish_file("a"), Err(FlbError::RetrieveFailed(EIO)));
    assert_eq!(reg.finish_file("a"), Err(FlbError::Finished));
    assert_eq!(reg.get("a").unwrap_err(), FlbError::RetrieveFailed(EIO));
    assert_eq!(ops.counts(), [0, 0, 1, 0], "one retrieve, no finish");
}

#[test]
fn finish_runs_once_after_the_last_file() {
    let reg = Registry::new();
    let ops = Recorder::leak("a", 0, 0xab);
    reg.register("a", ops).unwrap();
    reg.load(&flb_table(4, &[("a", 0x5000, 3)])).unwrap();
    drop(reg.get("a").unwrap());
    assert_eq!(reg.finish_file("a"), Ok(2));
    assert_eq!(reg.finish_file("a"), Ok(1));
    assert!(reg.get("a").is_ok(), "still usable with one file left");
    assert_eq!(ops.counts(), [0, 0, 1, 0]);
    assert_eq!(reg.finish_file("a"), Ok(0));
    assert_eq!(ops.counts(), [0, 0, 1, 1]);
    assert_eq!(ops.log(), ["retrieve data=0x5000", "finish object=0xab"]);
    assert_eq!(reg.get("a").unwrap_err(), FlbError::Finished);
    assert_eq!(reg.peek("a"), Err(FlbError::Finished));
    assert_eq!(reg.finish_file("a"), Err(FlbError::Finished));
    assert_eq!(ops.counts(), [0, 0, 1, 1]);
}

#[test]
fn finish_waits_for_the_last_guard() {
    let reg = Registry::new();
    let ops = Recorder::leak("a", 0, 0xab);
    reg.register("a", ops).unwrap();
    reg.load(&flb_table(4, &[("a", 0x5000, 1)])).unwrap();
    let g1 = reg.get("a").unwrap();
    let g2 = reg.get("a").unwrap();
    assert_eq!(reg.finish_file("a"), Ok(0));
    // Finished for every newcomer, though the object lives on for the holders.
    assert_eq!(reg.get("a").unwrap_err(), FlbError::Finished);
    assert_eq!(reg.peek("a"), Err(FlbError::Finished));
    assert_eq!(ops.counts(), [0, 0, 1, 0]);
    drop(g1);
    assert_eq!(ops.counts(), [0, 0, 1, 0]);
    assert_eq!(g2.object(), 0xab);
    drop(g2);
    assert_eq!(ops.counts(), [0, 0, 1, 1]);
    assert_eq!(reg.get("a").unwrap_err(), FlbError::Finished);
}

#[test]
fn an_flb_nobody_got_is_retrieved_then_finished_at_its_last_file() {
    let reg = Registry::new();
    let ops = Recorder::leak("a", 0, 0xab);
    reg.register("a", ops).unwrap();
    reg.load(&flb_table(4, &[("a", 0x5000, 1)])).unwrap();
    assert_eq!(reg.finish_file("a"), Ok(0));
    assert_eq!(ops.log(), ["retrieve data=0x5000", "finish object=0xab"]);
    assert_eq!(reg.get("a").unwrap_err(), FlbError::Finished);
}

#[test]
fn a_failed_forced_retrieve_skips_finish_and_is_final() {
    let reg = Registry::new();
    let ops = Recorder::leak("a", 0, 0xab);
    reg.register("a", ops).unwrap();
    reg.load(&flb_table(4, &[("a", 0x5000, 1)])).unwrap();
    *ops.retrieve_error.lock().unwrap() = Some(EIO);
    assert_eq!(reg.finish_file("a"), Err(FlbError::RetrieveFailed(EIO)));
    assert_eq!(ops.counts(), [0, 0, 1, 0]);
    assert_eq!(reg.get("a").unwrap_err(), FlbError::RetrieveFailed(EIO));
    assert_eq!(reg.finish_file("a"), Err(FlbError::Finished));
}

#[test]
fn incoming_callbacks_may_call_the_registry_back() {
    let reg = leak_registry();
    let ops = Recorder::leak("a", 0, 0xab);
    ops.reenter.set(reg).unwrap();
    reg.register("a", ops).unwrap();
    reg.load(&flb_table(4, &[("a", 0x5000, 1)])).unwrap();
    let guard = reg.get("a").unwrap();
    assert_eq!(reg.finish_file("a"), Ok(0));
    drop(guard);
    assert_eq!(
        ops.seen(),
        [
            // During retrieve: another get would retrieve again, so it is refused; the raw
            // entry is still there.
            ("retrieve", Seen::Get(Err(FlbError::Busy))),
            ("retrieve", Seen::Peek(Ok(0x5000))),
            // During finish: already marked finished.
            ("finish", Seen::Get(Err(FlbError::Finished))),
            ("finish", Seen::Peek(Err(FlbError::Finished))),
        ]
    );
    assert_eq!(ops.counts(), [0, 0, 1, 1]);
}

#[test]
fn a_get_during_another_threads_retrieve_is_busy() {
    let reg = leak_registry();
    let ops = Blocking::leak();
    reg.register("slow", ops).unwrap();
    reg.load(&flb_table(4, &[("slow", 1, 2)])).unwrap();
    let worker = thread::spawn(move || reg.get("slow").map(|g| g.object()));
    ops.entered.wait();
    assert_eq!(reg.get("slow").unwrap_err(), FlbError::Busy);
    assert_eq!(reg.peek("slow").map(|e| e.data()), Ok(1));
    ops.release.wait();
    assert_eq!(worker.join().unwrap(), Ok(0x77));
    assert_eq!(reg.get("slow").unwrap().object(), 0x77);
}

#[test]
fn the_last_file_finishing_during_a_gets_retrieve_leaves_finish_to_that_guard() {
    let reg = leak_registry();
    let ops = Blocking::leak();
    reg.register("slow", ops).unwrap();
    reg.load(&flb_table(4, &[("slow", 1, 1)])).unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let worker = thread::spawn(move || {
        let guard = reg.get("slow").unwrap();
        rx.recv().unwrap();
        let finishes = ops.finishes.load(std::sync::atomic::Ordering::SeqCst);
        drop(guard);
        finishes
    });
    ops.entered.wait();
    assert_eq!(reg.finish_file("slow"), Ok(0));
    assert_eq!(reg.get("slow").unwrap_err(), FlbError::Finished);
    ops.release.wait();
    tx.send(()).unwrap();
    assert_eq!(worker.join().unwrap(), 0, "finish waited for the guard");
    assert_eq!(ops.finishes.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn a_get_during_the_forced_retrieve_of_the_last_file_is_finished() {
    let reg = leak_registry();
    let ops = Blocking::leak();
    reg.register("slow", ops).unwrap();
    reg.load(&flb_table(4, &[("slow", 1, 1)])).unwrap();
    let worker = thread::spawn(move || reg.finish_file("slow"));
    ops.entered.wait();
    assert_eq!(reg.get("slow").unwrap_err(), FlbError::Finished);
    assert_eq!(reg.peek("slow"), Err(FlbError::Finished));
    ops.release.wait();
    assert_eq!(worker.join().unwrap(), Ok(0));
    assert_eq!(ops.finishes.load(std::sync::atomic::Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------- peek, unclaimed

#[test]
fn peek_reads_the_raw_entry_without_side_effects() {
    let reg = Registry::new();
    reg.load(&flb_table(4, &[("hugetlb-v1", 0x8000_0000, 3)]))
        .unwrap();
    // Before registration: early boot.
    let entry = reg.peek("hugetlb-v1").unwrap();
    assert_eq!(
        (
            entry.name(),
            entry.data(),
            entry.file_count(),
            entry.flags()
        ),
        ("hugetlb-v1", 0x8000_0000, 3, FlbFlags::empty())
    );
    let ops = Recorder::leak("hugetlb-v1", 0, 1);
    reg.register("hugetlb-v1", ops).unwrap();
    for _ in 0..3 {
        assert_eq!(reg.peek("hugetlb-v1"), Ok(entry));
    }
    assert_eq!(ops.counts(), [0, 0, 0, 0]);
    // Peeking counted nothing: three files still to finish.
    assert_eq!(reg.finish_file("hugetlb-v1"), Ok(2));
    assert_eq!(
        reg.peek("hugetlb-v1").map(|e| e.file_count()),
        Ok(3),
        "raw count"
    );
}

#[test]
fn unclaimed_lists_what_no_registered_flb_claims() {
    let reg = Registry::new();
    reg.load(&flb_table(4, &[("a", 1, 1), ("b", 2, 1), ("c", 3, 1)]))
        .unwrap();
    let names = |reg: &Registry| -> Vec<(String, u64)> {
        reg.unclaimed()
            .map(|e| (e.name().to_owned(), e.data()))
            .collect()
    };
    assert_eq!(
        names(&reg),
        [("a".into(), 1), ("b".into(), 2), ("c".into(), 3)]
    );
    reg.register("b", Recorder::leak("b", 0, 0)).unwrap();
    reg.register("zz", Recorder::leak("zz", 0, 0)).unwrap();
    assert_eq!(names(&reg), [("a".into(), 1), ("c".into(), 3)]);
    reg.register("c", Recorder::leak("c", 0, 0)).unwrap();
    assert_eq!(names(&reg), [("a".into(), 1)]);
}

// ---------------------------------------------------------------- messages

#[test]
fn every_error_says_what_happened() {
    let cases = [
        (
            FlbError::InvalidName(EntryFault::NameEmpty),
            "FLB name: name is empty",
        ),
        (
            FlbError::Duplicate,
            "an FLB with this name is already registered",
        ),
        (
            FlbError::NotRegistered,
            "no FLB with this name is registered",
        ),
        (FlbError::NotPreserved, "no file of this FLB is preserved"),
        (
            FlbError::PreserveFailed(ENOMEM),
            "FLB preserve failed: callback error -12",
        ),
        (FlbError::Busy, "an FLB callback is running; retry"),
        (FlbError::CountOverflow, "FLB file or guard count overflow"),
        (
            FlbError::NoIncomingData,
            "no incoming FLB table was handed over",
        ),
        (
            FlbError::AlreadyLoaded,
            "an incoming FLB table is already loaded",
        ),
        (
            FlbError::NotFound,
            "the incoming FLB table has no entry of this name",
        ),
        (
            FlbError::RetrieveFailed(EIO),
            "FLB retrieve failed: callback error -5",
        ),
        (FlbError::Finished, "the FLB is finished"),
    ];
    for (error, message) in cases {
        assert_eq!(error.to_string(), message);
    }
    let memory = FlbError::Memory(MemError {
        addr: PhysAddr::new(0x1000),
        len: 8,
        fault: MemFault::Overflow,
    });
    assert_eq!(
        memory.to_string(),
        "FLB table: physical range at 0x1000 of 8 bytes overflows the address space"
    );
    // Display prints the inner error, so it is not also the source (printed once).
    assert!(std::error::Error::source(&memory).is_none());
}
