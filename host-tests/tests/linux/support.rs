//! Helpers for the upstream-format tests: blobs built byte by byte from the upstream layouts
//! (independently of the crate's encoders), as in `abi/tests/linux/support.rs`.

/// Little-endian byte builder: the kernel's native order on `x86_64` and arm64.
#[derive(Default, Clone)]
pub struct Blob(pub Vec<u8>);

impl Blob {
    pub fn new() -> Blob {
        Blob(Vec::new())
    }
    pub fn u16(mut self, v: u16) -> Blob {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u32(mut self, v: u32) -> Blob {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(mut self, v: u64) -> Blob {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// `s` in a NUL-padded field of `len` bytes.
    pub fn str_field(mut self, s: &str, len: usize) -> Blob {
        assert!(s.len() <= len);
        self.0.extend_from_slice(s.as_bytes());
        self.0.resize(self.0.len() + len - s.len(), 0);
        self
    }
    pub fn bytes(mut self, b: &[u8]) -> Blob {
        self.0.extend_from_slice(b);
        self
    }
    pub fn zeros(mut self, n: usize) -> Blob {
        self.0.resize(self.0.len() + n, 0);
        self
    }
    /// `struct pci_dev_ser {u32 domain; u16 bdf; u16 refcount}`.
    pub fn dev(self, domain: u32, bdf: u16, refcount: u16) -> Blob {
        self.u32(domain).u16(bdf).u16(refcount)
    }
    /// `struct luo_flb_ser {char name[48]; u64 data; u64 count}`.
    pub fn flb(self, name: &str, data: u64, count: u64) -> Blob {
        self.str_field(name, 48).u64(data).u64(count)
    }
    pub fn build(self) -> Vec<u8> {
        self.0
    }
}

/// PCI `pci_dev_ser` bytes of `(domain, bdf, refcount)` triples.
pub fn devs(list: &[(u32, u16, u16)]) -> Vec<u8> {
    list.iter()
        .fold(Blob::new(), |b, &(d, f, r)| b.dev(d, f, r))
        .build()
}

/// An `x86_64` or arm64 kernel: 4 KiB pages, little-endian, as [`Blob`] writes.
pub const LE: liveupdate_abi::linux::Kernel = liveupdate_abi::linux::Kernel::LITTLE_4K;
