//! The incoming side: "was this device preserved?", answered from the previous kernel's
//! table until the PCI state is finished, and never after.

use core::fmt;

use liveupdate_abi::{IdentityMatch, PciAddress, PciDevice, PciEntry, PciIdentity, Table};

use super::PciError;
use crate::sync::{AtomicUsize, FillOnce, Ordering, RaceProbe, spin_hint};

/// The `gate` bit that marks the state finished; the bits below count readers inside.
const FINISHED: usize = 1 << (usize::BITS - 1);

/// The previous kernel's PCI table, readable from any number of threads until
/// [`PciIncoming::finish`].
///
/// Lifecycle: empty -> loaded ([`PciIncoming::load`]) -> finished ([`PciIncoming::finish`],
/// from the PCI FLB's `finish` callback). A lookup costs a relaxed load, an acquire
/// increment and a release decrement of one atomic word, plus the binary search.
///
/// `N` sizes an optional index: when the table has at most `N` devices, `load` copies their
/// keys (8 bytes each) into a sorted array inside this value, and lookups search that array,
/// about twice as fast as searching the table's little-endian entries. With the default
/// `N = 0`, or a larger table, lookups search the table in place. A kernel sizes `N` like its
/// `PciTracker`: `static PCI: PciIncoming<'static, 4096> = PciIncoming::new();`.
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
    /// Filled in place by `load`, so the key index never crosses the stack.
    loaded: FillOnce<Loaded<'m, N>>,
    /// [`FINISHED`] | number of readers inside.
    gate: AtomicUsize,
    /// Under loom: the table's memory, "read" by lookups and "freed" by `finish`.
    probe: RaceProbe,
}

/// The table, and its keys copied into a sorted `u64` index when it has at most `N` devices.
struct Loaded<'m, const N: usize> {
    /// `None` only before `load` fills the cell (never seen by a reader).
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
            gate: AtomicUsize::new(0),
            probe: RaceProbe::new(),
        }
    }

    /// No table yet.
    #[cfg(loom)]
    pub fn new() -> Self {
        PciIncoming {
            loaded: FillOnce::new(Loaded::EMPTY),
            gate: AtomicUsize::new(0),
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
        } else {
            Err(PciError::AlreadyLoaded)
        }
    }

    /// Whether the previous kernel preserved the device at `address`: O(blocks + log n) (one
    /// block unless the table is chained), lock-free,
    /// from any number of threads at once.
    ///
    /// # Errors
    ///
    /// [`PciError::NoIncomingData`] when no table was loaded (a fresh boot is not "no device
    /// preserved"); [`PciError::Finished`] once [`PciIncoming::finish`] has begun.
    pub fn is_preserved(&self, address: PciAddress) -> Result<bool, PciError> {
        self.read(|table, keys| {
            if keys.len() as u64 == table.len() {
                // The index: a binary search over plain integers, a load and a compare per step.
                keys.binary_search(&address.key()).is_ok()
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
        // Cheap early exit; it also keeps late readers out of the count `finish` waits on.
        if self.gate.load(Ordering::Relaxed) & FINISHED != 0 {
            return Err(PciError::Finished);
        }
        // Acquire: the table is read only after this reader is counted.
        let before = self.gate.fetch_add(1, Ordering::Acquire);
        let answer = if before & FINISHED != 0 {
            Err(PciError::Finished)
        } else {
            match self.loaded.get() {
                Some(Loaded {
                    table: Some(table),
                    keys,
                }) => {
                    self.probe.read();
                    Ok(f(table, keys))
                }
                _ => Err(PciError::NoIncomingData),
            }
        };
        // Release: the reads above happen before `finish` sees this reader leave.
        self.gate.fetch_sub(1, Ordering::Release);
        answer
    }

    /// Marks the state finished, so every later lookup returns [`PciError::Finished`], then
    /// waits for the lookups already running to return. When `Ok(())` comes back nothing
    /// reads the table any more and its memory may be released; only that one caller may
    /// release it.
    ///
    /// The wait spins, bounded by one binary search per thread that was inside a lookup.
    ///
    /// # Errors
    ///
    /// [`PciError::Finished`] when already finished (by this or another caller).
    pub fn finish(&self) -> Result<(), PciError> {
        let before = self.gate.fetch_or(FINISHED, Ordering::AcqRel);
        if before & FINISHED != 0 {
            return Err(PciError::Finished);
        }
        while self.gate.load(Ordering::Acquire) & !FINISHED != 0 {
            spin_hint();
        }
        self.probe.write();
        Ok(())
    }

    /// Whether [`PciIncoming::finish`] has begun.
    pub fn is_finished(&self) -> bool {
        self.gate.load(Ordering::Acquire) & FINISHED != 0
    }
}
