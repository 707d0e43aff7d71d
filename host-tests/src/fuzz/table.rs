//! Chained tables (`liveupdate_abi::table`): the [`bodies`], which return the invariant that
//! broke, turned into target bodies that panic with it. Input: the first block's offset and
//! length (`u16` each), then the memory, at [`bodies::BASE`].

pub mod bodies;

use bodies::Verdict;

fn check(what: &str, verdict: Verdict) {
    if let Err(broken) = verdict {
        panic!("{what}: {broken}");
    }
}

/// A PCI table over the memory as given.
pub fn table_pci(data: &[u8]) {
    check("PCI table", bodies::table_pci(data));
}

/// A PCI table over the memory with every record along the links re-sealed.
pub fn table_pci_sealed(data: &[u8]) {
    check("PCI table", bodies::table_pci_sealed(data));
}

/// An FLB table over the memory as given.
pub fn table_flb(data: &[u8]) {
    check("FLB table", bodies::table_flb(data));
}

/// An FLB table over the memory with every record along the links re-sealed.
pub fn table_flb_sealed(data: &[u8]) {
    check("FLB table", bodies::table_flb_sealed(data));
}
