//! Passes the linker script of the target's memory map (qemu `virt` for aarch64, `mps2-an386`
//! for the M profile) to the linker.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "none" {
        match arch.as_str() {
            "aarch64" => println!("cargo:rustc-link-arg=-T{dir}/aarch64-virt.ld"),
            "arm" => println!("cargo:rustc-link-arg=-T{dir}/mps2-an386.ld"),
            _ => {}
        }
    }
    println!("cargo:rerun-if-changed=aarch64-virt.ld");
    println!("cargo:rerun-if-changed=mps2-an386.ld");
    println!("cargo:rerun-if-changed=build.rs");
}
