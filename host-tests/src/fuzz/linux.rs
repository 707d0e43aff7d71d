//! The upstream Linux formats (`liveupdate_abi::linux`): the [`bodies`], which return the
//! invariant that broke, turned into target bodies that panic with it.

pub mod bodies;

use bodies::Verdict;

fn check(what: &str, verdict: Verdict) {
    if let Err(broken) = verdict {
        panic!("{what}: {broken}");
    }
}

/// `luo_ser`: what decodes re-encodes to the same bytes.
pub fn linux_luo_ser(data: &[u8]) {
    check("luo_ser", bodies::luo_ser(data));
}

/// The FLB area: entries convert, re-encode and decode to the same entries.
pub fn linux_flb(data: &[u8]) {
    check("FLB area", bodies::flb(data));
}

/// Array-form `pci_ser` (the first byte picks the format): devices round-trip.
pub fn linux_pci_array(data: &[u8]) {
    check("pci_ser array", bodies::pci_array(data));
}

/// An image holding a `pci_ser`, chain or array: devices round-trip through a new chain.
pub fn linux_pci_image(data: &[u8]) {
    check("pci_ser image", bodies::pci_image(data));
}

/// The KHO image container alone: every segment reads back.
pub fn linux_phys_image(data: &[u8]) {
    check("KHO image", bodies::phys_image(data));
}

/// The `pci_ser` of the FLB `"pci"` (image or raw): unknown versions refused as such,
/// devices round-trip at the same version.
pub fn linux_pci_versioned(data: &[u8]) {
    check("pci_ser versioned", bodies::pci_versioned(data));
}

/// `luo_ser`, lenient decoding against strict decoding.
pub fn linux_luo_lenient(data: &[u8]) {
    check("luo_ser lenient", bodies::luo_ser_lenient(data));
}

/// The FLB area, lenient decoding against strict decoding.
pub fn linux_flb_lenient(data: &[u8]) {
    check("FLB area lenient", bodies::flb_lenient(data));
}
