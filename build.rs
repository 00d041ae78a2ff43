//! Links the `berth` binary with its functions in the order a profile of its
//! common commands first called them (`src/bin/berth.order`, made by
//! `bench/orderfile.sh`), so the code one command runs sits on few pages, and
//! in the release and ci profiles with those functions in a mapping of their
//! own (see `linker_script`). A name the order file lists but the build lacks
//! (another toolchain, another profile) is skipped silently; the order and the
//! script only move code, never change it.

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let order = format!("{dir}/src/bin/berth.order");
    println!("cargo:rerun-if-changed=src/bin/berth.order");
    println!("cargo:rerun-if-changed=build.rs");
    if uses_lld() {
        println!("cargo:rustc-link-arg-bin=berth=-Wl,--symbol-ordering-file={order}");
        if std::env::var_os("BERTH_ORDER_WARN").is_none() {
            println!("cargo:rustc-link-arg-bin=berth=-Wl,--no-warn-symbol-ordering");
        }
    }
    println!("cargo:rerun-if-env-changed=BERTH_ORDER_WARN");
    // bench/orderfile.sh reads the build's symbol names from the linker's map:
    // the release profile strips them, and stripping is part of what names them.
    if let Some(map) = std::env::var_os("BERTH_LINK_MAP") {
        println!("cargo:rustc-link-arg-bin=berth=-Wl,-Map={}", map.to_string_lossy());
    }
    println!("cargo:rerun-if-env-changed=BERTH_LINK_MAP");
    // The release and ci profiles (both panic=abort): see linker_script.
    if std::env::var("PROFILE").as_deref() == Ok("release") {
        let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
        let script = out.join("berth.ld");
        let text = std::fs::read_to_string(&order).unwrap_or_default();
        std::fs::write(&script, linker_script(&text)).expect("write OUT_DIR/berth.ld");
        println!("cargo:rustc-link-arg-bin=berth=-Wl,-T,{}", script.display());
    }
}

/// Whether `berth` is linked by rust-lld, whose `--symbol-ordering-file` the
/// order takes. rustc links x86_64-unknown-linux-gnu with it; the musl target
/// (the release build: see the Makefile) is linked by the system's `cc` and
/// `ld`, so there we ask `cc` for the rust-lld the toolchain ships, as rustc
/// does for the gnu target. Without it, the order file is left out (the linker
/// script below groups the same functions, only not in their order).
fn uses_lld() -> bool {
    let target = std::env::var("TARGET").unwrap_or_default();
    if !target.ends_with("-linux-musl") {
        return true;
    }
    let host = std::env::var("HOST").unwrap_or_default();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = std::process::Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let Some(gcc_ld) = sysroot.map(|s| std::path::Path::new(&s).join("lib/rustlib").join(host).join("bin/gcc-ld"))
    else {
        return false;
    };
    if !gcc_ld.join("ld.lld").exists() {
        return false;
    }
    println!("cargo:rustc-link-arg-bin=berth=-fuse-ld=lld");
    println!("cargo:rustc-link-arg-bin=berth=-B{}", gcc_ld.display());
    true
}

/// The linker script of the release `berth` (peak RSS of create; bench/RESULTS.md):
/// - The functions of the order file go to `.text.hot`, the rest of the code to
///   `.text.cold`, after a one-page gap so that the two are separate mappings.
///   The kernel (6.18, ext4's large folios) maps a whole folio of the page cache
///   on one fault, but never past the mapping: the code no common command runs
///   is then not resident. A function missing from the file costs pages, never
///   correctness.
/// - The unwind tables (`.eh_frame`, the LSDAs: a quarter of the read-only
///   segment) are discarded: nothing unwinds when a panic aborts, and
///   `-C force-unwind-tables=no` would also reach the test binaries, which
///   unwind. A backtrace (RUST_BACKTRACE, anyhow) then finds no frame and is
///   empty; libgcc_s's own tables stay, so its unwinder stops cleanly.
fn linker_script(order: &str) -> String {
    let mut hot = String::new();
    for name in order.lines().map(str::trim) {
        if !name.is_empty() && !name.contains(['*', '?', '[', ']', '(', ')', ' ']) {
            hot.push_str(&format!("    *(.text.{name} .text.unlikely.{name})\n"));
        }
    }
    format!(
        "SECTIONS {{\n  /DISCARD/ : {{ *(.eh_frame) *(.eh_frame_hdr) *(.gcc_except_table*) }}\n}} INSERT AFTER .text;\n\
         SECTIONS {{\n  .text.hot : {{\n{hot}    *(.text.unlikely .text.startup .text.exit .text.hot)\n  }}\n}} INSERT BEFORE .text;\n\
         SECTIONS {{\n  .text.cold ALIGN(CONSTANT(MAXPAGESIZE)) + CONSTANT(MAXPAGESIZE) : AT(ADDR(.text.cold)) {{ *(.text.*) }}\n}} INSERT AFTER .fini;\n"
    )
}
