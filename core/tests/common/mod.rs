//! Test doubles shared by the integration tests: FLB callbacks that record what they were
//! asked, and can be told to fail or to call the registry back from inside a callback.

#![allow(dead_code, clippy::missing_panics_doc)]

use liveupdate_abi::{Capacity, Encoding, Generation};
use std::sync::Mutex;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use liveupdate_abi::AbiVersion;
use liveupdate_abi::FlbFlags;
use liveupdate_core::flb::{FlbError, FlbOps, FlbRegistry, OpsError, Preserved};

/// The registry capacity used by the tests.
pub const CAP: usize = 4;
pub type Registry = FlbRegistry<CAP>;

/// A fresh registry with a `'static` lifetime, as FLB callbacks that call back need.
pub fn leak_registry() -> &'static Registry {
    Box::leak(Box::new(Registry::new()))
}

/// What a callback observed when it called the registry back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    Get(Result<u64, FlbError>),
    Peek(Result<u64, FlbError>),
    PreserveFile(Result<u64, FlbError>),
    UnpreserveFile(Result<u64, FlbError>),
}

/// FLB callbacks that count their calls, return configured results, and optionally call the
/// registry back (recording what they saw).
pub struct Recorder {
    pub name: &'static str,
    pub data: u64,
    pub object: u64,
    pub preserve_error: Mutex<Option<OpsError>>,
    pub retrieve_error: Mutex<Option<OpsError>>,
    pub preserves: AtomicU32,
    pub unpreserves: AtomicU32,
    pub retrieves: AtomicU32,
    pub finishes: AtomicU32,
    /// Arguments the callbacks received, in order.
    pub log: Mutex<Vec<String>>,
    /// When set, each callback calls this registry back on its own FLB: the outgoing
    /// callbacks `preserve_file` and `unpreserve_file`, the incoming ones `get` and `peek`.
    pub reenter: OnceLock<&'static Registry>,
    pub seen: Mutex<Vec<(&'static str, Seen)>>,
}

impl Recorder {
    pub fn leak(name: &'static str, data: u64, object: u64) -> &'static Recorder {
        Box::leak(Box::new(Recorder {
            name,
            data,
            object,
            preserve_error: Mutex::new(None),
            retrieve_error: Mutex::new(None),
            preserves: AtomicU32::new(0),
            unpreserves: AtomicU32::new(0),
            retrieves: AtomicU32::new(0),
            finishes: AtomicU32::new(0),
            log: Mutex::new(Vec::new()),
            reenter: OnceLock::new(),
            seen: Mutex::new(Vec::new()),
        }))
    }

    pub fn counts(&self) -> [u32; 4] {
        [
            self.preserves.load(Ordering::SeqCst),
            self.unpreserves.load(Ordering::SeqCst),
            self.retrieves.load(Ordering::SeqCst),
            self.finishes.load(Ordering::SeqCst),
        ]
    }

    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub fn seen(&self) -> Vec<(&'static str, Seen)> {
        self.seen.lock().unwrap().clone()
    }

    fn call_back(&self, during: &'static str) {
        let Some(reg) = self.reenter.get() else {
            return;
        };
        let mut seen = self.seen.lock().unwrap();
        if matches!(during, "preserve" | "unpreserve") {
            seen.push((during, Seen::PreserveFile(reg.preserve_file(self.name))));
            seen.push((during, Seen::UnpreserveFile(reg.unpreserve_file(self.name))));
        } else {
            let get = reg.get(self.name).map(|g| g.object());
            seen.push((during, Seen::Get(get)));
            seen.push((during, Seen::Peek(reg.peek(self.name).map(|e| e.data()))));
        }
    }
}

impl FlbOps for Recorder {
    fn preserve(&self) -> Result<Preserved, OpsError> {
        self.preserves.fetch_add(1, Ordering::SeqCst);
        self.log.lock().unwrap().push("preserve".into());
        self.call_back("preserve");
        if let Some(e) = *self.preserve_error.lock().unwrap() {
            return Err(e);
        }
        Ok(Preserved {
            data: self.data,
            object: self.object,
            flags: FlbFlags::DATA_IS_PHYS,
        })
    }

    fn unpreserve(&self, preserved: Preserved) {
        self.unpreserves.fetch_add(1, Ordering::SeqCst);
        self.log.lock().unwrap().push(format!(
            "unpreserve data={:#x} object={:#x}",
            preserved.data, preserved.object
        ));
        self.call_back("unpreserve");
    }

    fn retrieve(&self, data: u64) -> Result<u64, OpsError> {
        self.retrieves.fetch_add(1, Ordering::SeqCst);
        self.log
            .lock()
            .unwrap()
            .push(format!("retrieve data={data:#x}"));
        self.call_back("retrieve");
        match *self.retrieve_error.lock().unwrap() {
            Some(e) => Err(e),
            None => Ok(self.object),
        }
    }

    fn finish(&self, object: u64) {
        self.finishes.fetch_add(1, Ordering::SeqCst);
        self.log
            .lock()
            .unwrap()
            .push(format!("finish object={object:#x}"));
        self.call_back("finish");
    }
}

/// A decoded FLB table holding `entries` (name, data, file count), in the order given (which
/// must be name order), with room for `capacity` entries.
pub fn flb_table(
    capacity: u32,
    entries: &[(&str, u64, u64)],
) -> liveupdate_abi::Table<'static, liveupdate_abi::FlbEntry> {
    use liveupdate_abi::{FlbEntry, FlbTable};
    let len = FlbTable::len_for(AbiVersion::V1_0, Capacity::new(capacity)).unwrap();
    let buf: &'static mut [u8] = Box::leak(vec![0u8; len].into_boxed_slice());
    let entries = entries
        .iter()
        .map(|&(name, data, count)| FlbEntry::new(name, data, count, FlbFlags::empty()).unwrap());
    let len = FlbTable::encode(
        buf,
        Encoding::new(
            AbiVersion::V1_0,
            Generation::new(1),
            Capacity::new(capacity),
        ),
        entries,
    )
    .unwrap();
    liveupdate_abi::Table::try_from(FlbTable::decode(&buf[..len]).unwrap()).unwrap()
}

/// FLB callbacks whose `retrieve` (and `preserve`) stop in the middle until released:
/// `entered` is reached once the callback has started, `release` lets it return.
pub struct Blocking {
    pub entered: std::sync::Barrier,
    pub release: std::sync::Barrier,
    pub finishes: AtomicU32,
}

impl Blocking {
    pub fn leak() -> &'static Blocking {
        Box::leak(Box::new(Blocking {
            entered: std::sync::Barrier::new(2),
            release: std::sync::Barrier::new(2),
            finishes: AtomicU32::new(0),
        }))
    }
}

impl FlbOps for Blocking {
    fn preserve(&self) -> Result<Preserved, OpsError> {
        self.entered.wait();
        self.release.wait();
        Ok(Preserved {
            data: 1,
            object: 2,
            flags: FlbFlags::empty(),
        })
    }
    fn unpreserve(&self, _: Preserved) {}
    fn retrieve(&self, _data: u64) -> Result<u64, OpsError> {
        self.entered.wait();
        self.release.wait();
        Ok(0x77)
    }
    fn finish(&self, _object: u64) {
        self.finishes.fetch_add(1, Ordering::SeqCst);
    }
}
