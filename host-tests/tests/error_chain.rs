//! Every error prints each message once when reported the way `anyhow` reports a chain: the
//! error's `Display`, then the `Display` of each `source()` in turn. A wrapper that adds a
//! location prints its inner error and returns `None` from `source()`; none does both.

use std::error::Error as StdError;

use liveupdate_abi::{
    AbiVersion, ChainFault, DecodeError, EncodeError, EntryFault, Generation, PhysAddr, RecordKind,
    TableError, Unfit,
};
use liveupdate_core::flb::FlbError;
use liveupdate_core::graph::GraphError;
use liveupdate_core::pci::PciError;
use liveupdate_host_tests::inspect::VerifyError;
use liveupdate_host_tests::sim::SimError;

/// The messages of the chain, outermost first, as an error-chain reporter prints them.
fn chain(e: &dyn StdError) -> Vec<String> {
    let mut messages = vec![e.to_string()];
    let mut next = e.source();
    while let Some(source) = next {
        messages.push(source.to_string());
        next = source.source();
    }
    messages
}

/// Reports `e` as `anyhow` does with `{:#}` (messages joined by ": ") and checks that each
/// `inner` message, and each message of the chain, appears exactly once in the report.
fn assert_reported_once(e: &dyn StdError, inner: &[String]) {
    let messages = chain(e);
    let report = messages.join(": ");
    for (i, m) in messages.iter().enumerate() {
        for later in &messages[i + 1..] {
            assert!(
                !m.contains(later.as_str()),
                "{report:?}: {m:?} prints its source {later:?} too"
            );
        }
    }
    for m in inner {
        assert_eq!(
            report.matches(m.as_str()).count(),
            1,
            "{report:?} should hold {m:?} once"
        );
    }
}

fn abi_errors() -> Vec<DecodeError> {
    vec![
        DecodeError::Checksum {
            kind: RecordKind::PciTable,
            stored: 0x1234_5678,
            computed: 0x9abc_def0,
        },
        DecodeError::Entry {
            kind: RecordKind::FlbTable,
            index: 3,
            offset: 280,
            fault: EntryFault::ZeroFileCount,
        },
        DecodeError::Chain {
            kind: RecordKind::PciTable,
            fault: ChainFault::Cycle { to_block: 0 },
        },
        DecodeError::Generation {
            kind: RecordKind::FlbTable,
            expected: Generation::new(7),
            found: Generation::new(6),
        },
    ]
}

fn encode_errors() -> Vec<EncodeError> {
    vec![
        EncodeError::CapacityExceeded {
            kind: RecordKind::PciTable,
            capacity: 4,
        },
        EncodeError::Entry {
            kind: RecordKind::FlbTable,
            index: 3,
            offset: 280,
            fault: EntryFault::ZeroFileCount,
        },
        EncodeError::Chain {
            kind: RecordKind::PciTable,
            fault: ChainFault::Cycle { to_block: 0 },
        },
        EncodeError::Unfit {
            kind: RecordKind::PciTable,
            version: AbiVersion::V1_0,
            what: Unfit::Identity { index: 1 },
        },
        EncodeError::Malformed(DecodeError::Checksum {
            kind: RecordKind::PciTable,
            stored: 0x1234_5678,
            computed: 0x9abc_def0,
        }),
    ]
}

fn table_error<E>(error: E) -> TableError<E> {
    TableError {
        block: 2,
        phys: PhysAddr::new(0x10_2000),
        error,
    }
}

#[test]
fn abi_errors_print_each_message_once() {
    for error in abi_errors() {
        assert_reported_once(&error, &[error.to_string()]);
        let table = table_error(error);
        assert_reported_once(&table, &[error.to_string(), "block 2 at 0x102000".into()]);
    }
    for error in encode_errors() {
        assert_reported_once(&error, &[error.to_string()]);
        let table = table_error(error);
        assert_reported_once(&table, &[error.to_string(), "block 2 at 0x102000".into()]);
    }
    let fault = EntryFault::DuplicateName;
    assert_reported_once(&fault, &[fault.to_string()]);
}

#[test]
fn core_errors_print_each_message_once() {
    for error in abi_errors() {
        let inner = error.to_string();
        let table = table_error(error);
        let wrapped: Vec<Box<dyn StdError>> = vec![
            Box::new(GraphError::Record(error)),
            Box::new(GraphError::Table(table)),
        ];
        for e in wrapped {
            assert_reported_once(e.as_ref(), std::slice::from_ref(&inner));
        }
    }
    for error in encode_errors() {
        let inner = error.to_string();
        let table = table_error(error);
        let wrapped: Vec<Box<dyn StdError>> = vec![
            Box::new(GraphError::Encode(error)),
            Box::new(FlbError::Table(table)),
            Box::new(PciError::Table(table)),
        ];
        for e in wrapped {
            assert_reported_once(e.as_ref(), std::slice::from_ref(&inner));
        }
    }
}

#[test]
fn host_test_errors_print_each_message_once() {
    for error in abi_errors() {
        let inner = error.to_string();
        let table = table_error(error);
        let wrapped: Vec<Box<dyn StdError>> = vec![
            Box::new(SimError::Graph(GraphError::Table(table))),
            Box::new(VerifyError::Graph(GraphError::Record(error))),
        ];
        for e in wrapped {
            assert_reported_once(e.as_ref(), std::slice::from_ref(&inner));
        }
    }
    for error in encode_errors() {
        let inner = error.to_string();
        let table = table_error(error);
        let wrapped: Vec<Box<dyn StdError>> = vec![
            Box::new(SimError::Pci(PciError::Table(table))),
            Box::new(SimError::Flb {
                name: "pci-v1".into(),
                error: FlbError::Table(table),
            }),
        ];
        for e in wrapped {
            assert_reported_once(e.as_ref(), std::slice::from_ref(&inner));
        }
    }
}
