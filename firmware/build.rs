//! Passes the linker script of the target's memory map (qemu `virt` for aarch64) to the linker.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if arch == "aarch64" && os == "none" {
        println!("cargo:rustc-link-arg=-T{dir}/aarch64-virt.ld");
    }
    println!("cargo:rerun-if-changed=aarch64-virt.ld");
    println!("cargo:rerun-if-changed=build.rs");
}
