//! The build script of all three firmwares (`build = "../common/build.rs"` in each
//! manifest): puts `memory.x` where the linker finds it and links with cortex-m-rt's `link.x`.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).expect("cannot write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg=-Tlink.x");
    println!("cargo:rerun-if-changed=../common/memory.x");
    println!("cargo:rerun-if-changed=../common/build.rs");
}
