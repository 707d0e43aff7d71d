#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| liveupdate_host_tests::fuzz::linux_pci_versioned(data));
