//! Link flags of the freestanding image: our own `_start`, and in release no C library at all.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Bare-metal targets link with their own linker (rust-lld) and defaults: the image is
    // only measured there (src/rt.rs).
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    // `_start` is ours (src/rt.rs), not crt1.o's.
    println!("cargo:rustc-link-arg-bins=-nostartfiles");
    if std::env::var("PROFILE").as_deref() == Ok("release") {
        // The proof: nothing from libc (src/rt.rs provides memcpy and friends), static.
        println!("cargo:rustc-link-arg-bins=-nostdlib");
        println!("cargo:rustc-link-arg-bins=-static");
    } else {
        // An unoptimised build keeps calls the optimiser would remove; let libc answer them.
        println!("cargo:rustc-link-arg-bins=-lc");
    }
}
