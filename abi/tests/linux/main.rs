//! The upstream Linux formats (`liveupdate_abi::linux`): golden blobs built byte by byte from
//! the reference layouts, round trips, and every refusal.

mod chain;
mod flb;
mod luo;
mod order;
mod pci;
mod support;
mod versioned;
