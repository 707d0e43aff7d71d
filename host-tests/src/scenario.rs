//! What the outgoing kernel preserves, drawn from a seed so that a second process can
//! regenerate the same expectation without being told anything but the seed.

use std::collections::{BTreeMap, BTreeSet};

use liveupdate_abi::{PciAddress, PciFlags, PciIdentity};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Compatible name of the PCI core's FLB.
pub const PCI_FLB: &str = "pci";

/// One FLB of the scenario: its compatible name, how many preserved files depend on it, and
/// the data handle its `preserve` returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlbSpec {
    /// Compatible name.
    pub name: String,
    /// Preserved files depending on it.
    pub files: u64,
    /// The opaque handle `preserve` returns; `None` for the PCI FLB, whose data is the
    /// physical address of the PCI table, known once KHO memory is allocated.
    pub handle: Option<u64>,
}

/// A live update's worth of preserved state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// The seed it was drawn from.
    pub seed: u64,
    /// The live-update sequence number.
    pub generation: u64,
    /// Preserved devices and how many times each was preserved, sorted.
    pub devices: BTreeMap<PciAddress, u16>,
    /// The FLBs, sorted by name; the PCI FLB is among them when any device is preserved.
    pub flbs: Vec<FlbSpec>,
    /// Devices that were not preserved, to ask `is_preserved` about.
    pub absent: Vec<PciAddress>,
    /// What each preserved device is (vendor, device, class) and its flags, as an ABI 1.1
    /// writer records them; an ABI 1.0 writer cannot.
    pub identities: BTreeMap<PciAddress, (PciIdentity, PciFlags)>,
}

/// Draws an identity and flags for every device, from a stream of its own, so the devices of
/// a seed are the same whatever the ABI version.
fn identities(
    seed: u64,
    devices: &BTreeMap<PciAddress, u16>,
) -> BTreeMap<PciAddress, (PciIdentity, PciFlags)> {
    // (vendor, class code): an Intel NIC, an NVIDIA GPU, a Samsung NVMe drive, a virtio device.
    const KINDS: [(u16, u32); 4] = [
        (0x8086, 0x02_00_00),
        (0x10de, 0x03_02_00),
        (0x144d, 0x01_08_02),
        (0x1af4, 0x01_00_00),
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1de7_1700);
    devices
        .keys()
        .map(|&address| {
            let (vendor, class) = KINDS[rng.random_range(0..KINDS.len())];
            let identity = PciIdentity::new(vendor, rng.random(), class)
                .unwrap_or_else(|fault| unreachable!("vendor {vendor:#x} is not zero: {fault}"));
            let flags = if rng.random_range(0..2) == 0 {
                PciFlags::BUS_MASTER
            } else {
                PciFlags::empty()
            };
            (address, (identity, flags))
        })
        .collect()
}

fn address(rng: &mut ChaCha8Rng) -> PciAddress {
    // One in four devices sits behind a VMD-style domain at or above 0x10000.
    let domain = match rng.random_range(0..4) {
        0 => 0x1_0000 + rng.random_range(0..4u32),
        1 => rng.random_range(1..4u32),
        _ => 0,
    };
    PciAddress::new(
        domain,
        rng.random(),
        rng.random_range(0..32),
        rng.random_range(0..8),
    )
    .unwrap()
}

impl Scenario {
    /// Draws `devices` distinct PCI devices and `flbs` FLBs besides the PCI core's from `seed`.
    pub fn generate(seed: u64, devices: usize, flbs: usize) -> Scenario {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let generation = rng.random_range(1..1_000_000u64);
        let mut map = BTreeMap::new();
        while map.len() < devices {
            let refcount = if rng.random_range(0..4) == 0 { 2 } else { 1 };
            map.insert(address(&mut rng), refcount);
        }
        let mut absent = BTreeSet::new();
        while absent.len() < devices.clamp(8, 256) {
            let a = address(&mut rng);
            if !map.contains_key(&a) {
                absent.insert(a);
            }
        }
        let mut specs = Vec::new();
        if devices > 0 {
            specs.push(FlbSpec {
                name: PCI_FLB.to_owned(),
                // One preserved VFIO device file per preserve of a device.
                files: map.values().map(|&r| u64::from(r)).sum(),
                handle: None,
            });
        }
        for i in 0..flbs {
            specs.push(FlbSpec {
                name: format!("liveupdate-test-flb-v{i}"),
                files: rng.random_range(1..=8),
                handle: Some(rng.random()),
            });
        }
        specs.sort_by(|a, b| a.name.cmp(&b.name));
        Scenario {
            seed,
            generation,
            identities: identities(seed, &map),
            devices: map,
            flbs: specs,
            absent: absent.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_scenario_other_seed_other() {
        let a = Scenario::generate(7, 40, 3);
        assert_eq!(a, Scenario::generate(7, 40, 3));
        assert_ne!(a, Scenario::generate(8, 40, 3));
        assert_eq!(a.devices.len(), 40);
        assert_eq!(a.flbs.len(), 4);
        assert!(a.absent.iter().all(|d| !a.devices.contains_key(d)));
        assert!(a.devices.keys().any(|d| d.domain >= 0x1_0000));
    }
}
