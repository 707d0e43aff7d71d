//! Link flags of the multiboot stub: our linker script (load address 1 MiB, the multiboot
//! header first) and a plain static executable (not the target's default static PIE), so
//! that the 32-bit entry code can use absolute addresses and nothing needs relocating.

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    println!("cargo:rustc-link-arg-bins=-T{dir}/link.ld");
    println!("cargo:rustc-link-arg-bins=--no-pie");
    println!("cargo:rustc-link-arg-bins=-zmax-page-size=4096");
    println!("cargo:rerun-if-changed=link.ld");
    println!("cargo:rerun-if-changed=build.rs");
}
