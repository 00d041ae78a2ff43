//! Links the `berth` binary with its functions in the order a profile of its
//! common commands first called them (`src/bin/berth.order`, made by
//! `bench/orderfile.sh`), so the code one command runs sits on few pages: the
//! kernel maps 64 KiB around every page fault of the binary, so scattered hot
//! code made all of the text resident (peak RSS of create; bench/RESULTS.md).
//! A name the order file lists but the build lacks (another toolchain, another
//! profile) is skipped silently; the order only moves code, never changes it.

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let order = format!("{dir}/src/bin/berth.order");
    println!("cargo:rerun-if-changed=src/bin/berth.order");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-link-arg-bin=berth=-Wl,--symbol-ordering-file={order}");
    if std::env::var_os("BERTH_ORDER_WARN").is_none() {
        println!("cargo:rustc-link-arg-bin=berth=-Wl,--no-warn-symbol-ordering");
    }
    println!("cargo:rerun-if-env-changed=BERTH_ORDER_WARN");
    // bench/orderfile.sh reads the build's symbol names from the linker's map:
    // the release profile strips them, and stripping is part of what names them.
    if let Some(map) = std::env::var_os("BERTH_LINK_MAP") {
        println!("cargo:rustc-link-arg-bin=berth=-Wl,-Map={}", map.to_string_lossy());
    }
    println!("cargo:rerun-if-env-changed=BERTH_LINK_MAP");
}
