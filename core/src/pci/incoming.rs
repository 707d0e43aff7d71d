//! The incoming side: "was this device preserved?", answered from the previous kernel's
//! table until the PCI state is finished, and never after.

use core::fmt;

use liveupdate_abi::{IdentityMatch, PciAddress, PciDevice, PciEntry, PciIdentity, Table};

use super::PciError;
use crate::sync::{Closed, FillOnce, RaceProbe};

/// The previous kernel's PCI table, readable from any number of threads until
/// [`PciIncoming::finish`].
///
/// Lifecycle: empty -> loaded ([`PciIncoming::load`]) -> finished ([`PciIncoming::finish`],
/// from the PCI FLB's `finish` callback). A lookup costs a relaxed load, an acquire
/// increment and a release decrement of one atomic word, plus the binary search.
///
/// # The memory under the table
///
/// `'m` is the lifetime of the memory the loaded table points into: the previous kernel's
/// PCI record (and chain blocks), read in place. A kernel's `PciIncoming<'static>` holds a
/// table read through a `DirectMap`, whose `unsafe` constructor promises that the mapping
/// outlives every slice read through it; the kernel frees that memory once the PCI FLB has
/// finished. That is sound, and this is the one place that argues it:
///
/// - every read of the table happens inside a lookup, counted in an atomic word;
/// - [`PciIncoming::finish`] marks the state finished in that word, so no later lookup reads
///   the table, waits for the lookups already counted to return, and then **drops the
///   table** (and the key index) in place: after it returns `Ok(())` this value holds no
///   reference into that memory, and no reference obtained from it survives (lookups return
///   owned values: `bool`, [`PciDevice`], [`IdentityMatch`]);
/// - so the memory may be freed as soon as `finish` returns `Ok(())`, by that caller, provided
///   nothing else still holds the table (the [`Handover`](crate::graph::Handover) it came from
///   is a local of the boot code, dropped long before).
///
/// The cell and counter behind this are `crate::sync::FillOnce` (one of the two modules of
/// this crate with `unsafe` code, see the [crate docs](crate#unsafe-code)).
///
/// `N` sizes an optional index: when the table has at most `N` devices, `load` copies their
/// keys (8 bytes each) into a sorted array inside this value, and lookups search that array:
/// as fast as a binary search over plain keys, on one record or a chain. With the default
/// `N = 0`, or a larger table, lookups search the table in place: within about 1.5x of that on
/// one record, but a chained table's blocks are walked to find the one to search (O(blocks),
/// read again from the memory), tens of times slower on a chain of hundreds of blocks. The
/// default copies nothing so that the value stays small (a few words) wherever it is put; a
/// kernel sizes `N` like its `PciTracker`, in a static:
/// `static PCI: PciIncoming<'static, 4096> = PciIncoming::new();` (32 KiB).
///
/// ```
/// use liveupdate_abi::{AbiVersion, Capacity, Encoding, Generation, IdentityMatch, PciAddress};
/// use liveupdate_abi::{PciDevice, PciIdentity, PciTable, Table};
/// use liveupdate_core::pci::{PciError, PciIncoming};
///
/// let gpu = PciAddress::new(0, 0x3b, 0, 0).unwrap();
/// let nvidia = PciIdentity::new(0x10de, 0x2330, 0x03_02_00).expect("valid");
/// let mut buf = [0u8; 160];
/// let devices = [PciDevice::new(gpu, 1).with_identity(nvidia)];
/// let encoding = Encoding::new(AbiVersion::V1_1, Generation::new(1), Capacity::new(4));
/// let len = PciTable::encode(&mut buf, encoding, devices)?;
///
/// let pci: PciIncoming<'_, 16> = PciIncoming::new();
/// assert_eq!(pci.is_preserved(gpu), Err(PciError::NoIncomingData));
/// pci.load(Table::try_from(PciTable::decode(&buf[..len])?)?).unwrap();
/// assert_eq!(pci.is_preserved(gpu), Ok(true));
/// assert_eq!(pci.check_identity(gpu, nvidia), Ok(IdentityMatch::Match));
/// assert_eq!(pci.is_preserved(PciAddress::new(0, 0x3b, 0, 1).unwrap()), Ok(false));
/// pci.finish().unwrap();
/// assert_eq!(pci.is_preserved(gpu), Err(PciError::Finished));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PciIncoming<'m, const N: usize = 0> {
    /// Filled in place by `load`, so the key index never crosses the stack; read by counted
    /// lookups; closed (the table dropped) by `finish`.
    loaded: FillOnce<Loaded<'m, N>>,
    /// Under loom: the table's memory, "read" by lookups and "freed" by `finish`.
    probe: RaceProbe,
}

/// The table, and its keys copied into a sorted `u64` index when it has at most `N` devices.
struct Loaded<'m, const N: usize> {
    /// `None` before `load` fills the cell (never seen by a reader) and after `finish`.
    table: Option<Table<'m, PciEntry>>,
    /// `domain << 16 | bdf` of every entry, in table order; empty when the table has more
    /// than `N` entries, which are then searched in the table itself.
    keys: heapless::Vec<u64, N>,
}

impl<'m, const N: usize> Loaded<'m, N> {
    const EMPTY: Self = Loaded {
        table: None,
        keys: heapless::Vec::new(),
    };

    /// Fills the empty value in place.
    fn fill(&mut self, table: Table<'m, PciEntry>) {
        if table.len() <= N as u64 {
            for entry in table.iter() {
                // At most N pushes: cannot fail.
                let _ = self.keys.push(entry.address().key());
            }
        }
        self.table = Some(table);
    }
}

/// Whether the sorted `keys` hold `key`: the key index's search. A binary search whose steps
/// halve the range whatever the data (a fixed count for a given length), each a load and a
/// compare; the bounds check on each load never fails and is predicted, and the data-dependent
/// step is a branch the CPU runs ahead on, loading the next probe while the compare resolves.
/// On random lookups over 4096 to 65536 keys this runs about as fast as `slice::binary_search`
/// at 4096 keys and up to twice as fast at 65536 (core/benches/pci.rs), which is what pays for
/// the reader count of every lookup.
fn contains(keys: &[u64], key: u64) -> bool {
    let at = |i: usize| keys.get(i).copied().unwrap_or(u64::MAX);
    let mut base = 0usize;
    let mut size = keys.len();
    while size > 1 {
        let half = size / 2;
        let mid = base + half;
        if at(mid) <= key {
            base = mid;
        }
        size -= half;
    }
    at(base) == key
}

impl<const N: usize> fmt::Debug for PciIncoming<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PciIncoming")
            .field("loaded", &self.loaded.is_filled())
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}

impl<const N: usize> Default for PciIncoming<'_, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'m, const N: usize> PciIncoming<'m, N> {
    /// No table yet.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        PciIncoming {
            loaded: FillOnce::new(Loaded::EMPTY),
            probe: RaceProbe::new(),
        }
    }

    /// No table yet.
    #[cfg(loom)]
    pub fn new() -> Self {
        PciIncoming {
            loaded: FillOnce::new(Loaded::EMPTY),
            probe: RaceProbe::new(),
        }
    }

    /// Installs the validated table (from
    /// [`Handover::pci_table`](crate::graph::Handover::pci_table)). Once only.
    ///
    /// # Errors
    ///
    /// [`PciError::AlreadyLoaded`]; [`PciError::Finished`].
    pub fn load(&self, table: Table<'m, PciEntry>) -> Result<(), PciError> {
        if self.is_finished() {
            return Err(PciError::Finished);
        }
        if self.loaded.fill(|loaded| loaded.fill(table)) {
            Ok(())
        } else if self.is_finished() {
            // `finish` came between the check above and the fill.
            Err(PciError::Finished)
        } else {
            Err(PciError::AlreadyLoaded)
        }
    }

    /// Whether the previous kernel preserved the device at `address`: O(log n) with the key
    /// index, else O(blocks + log n) (one block unless the table is chained), lock-free, from
    /// any number of threads at once.
    ///
    /// # Errors
    ///
    /// [`PciError::NoIncomingData`] when no table was loaded (a fresh boot is not "no device
    /// preserved"); [`PciError::Finished`] once [`PciIncoming::finish`] has begun.
    pub fn is_preserved(&self, address: PciAddress) -> Result<bool, PciError> {
        self.read(|table, keys| {
            if keys.len() as u64 == table.len() {
                contains(keys, address.key())
            } else {
                table.is_preserved(address)
            }
        })
    }

    /// The device at `address` with every field the previous kernel recorded (identity and
    /// flags from 1.1 on; `None` for what a 1.0 table lacks), `None` when it was not preserved.
    /// O(blocks + log n), lock-free, as [`PciIncoming::is_preserved`].
    ///
    /// # Errors
    ///
    /// As [`PciIncoming::is_preserved`].
    pub fn device(&self, address: PciAddress) -> Result<Option<PciDevice>, PciError> {
        self.read(|table, _| table.device(address))
    }

    /// Compares the identity the previous kernel recorded for the device at `address` with
    /// `probed`, the one found there now: [`IdentityMatch::Mismatch`] means another device is
    /// at the address and the entry must not be applied to it; [`IdentityMatch::Unknown`]
    /// that nothing was recorded (a 1.0 table, or an identity the writer did not know).
    ///
    /// # Errors
    ///
    /// As [`PciIncoming::is_preserved`]; [`PciError::NotPreserved`] when the device was not
    /// preserved.
    pub fn check_identity(
        &self,
        address: PciAddress,
        probed: PciIdentity,
    ) -> Result<IdentityMatch, PciError> {
        self.read(|table, _| table.check_identity(address, probed))?
            .ok_or(PciError::NotPreserved { address })
    }

    /// Runs `f` on the table as a counted reader, unless finished.
    fn read<T>(&self, f: impl FnOnce(&Table<'m, PciEntry>, &[u64]) -> T) -> Result<T, PciError> {
        let answer = self.loaded.read(|loaded| {
            let table = loaded.table.as_ref()?;
            self.probe.read();
            Some(f(table, &loaded.keys))
        });
        match answer {
            Ok(Some(Some(answer))) => Ok(answer),
            Ok(_) => Err(PciError::NoIncomingData),
            Err(Closed) => Err(PciError::Finished),
        }
    }

    /// Marks the state finished, so every later lookup returns [`PciError::Finished`], waits
    /// for the lookups already running to return, and drops the table. When `Ok(())` comes
    /// back nothing reads the table any more, nothing here refers to it, and its memory may be
    /// released; only that one caller may release it (see
    /// [the memory under the table](PciIncoming#the-memory-under-the-table)).
    ///
    /// The wait spins, bounded by one binary search per thread that was inside a lookup (and
    /// by a `load` running at the same time, if any).
    ///
    /// # Errors
    ///
    /// [`PciError::Finished`] when already finished (by this or another caller).
    pub fn finish(&self) -> Result<(), PciError> {
        let closed = self.loaded.close(|loaded| {
            loaded.table = None;
            loaded.keys.clear();
        });
        if !closed {
            return Err(PciError::Finished);
        }
        self.probe.write();
        Ok(())
    }

    /// Whether [`PciIncoming::finish`] has begun.
    pub fn is_finished(&self) -> bool {
        self.loaded.is_closed()
    }
}
