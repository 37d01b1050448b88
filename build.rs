//! Gives the cdylib its SONAME. Cargo sets none, so a program linked to
//! target/release/librtws.so would record "librtws.so" and load whatever library
//! of that name it finds. With `-soname librtws.so.SOVERSION` it records the
//! compatibility version instead, and an incompatible rtws (another SOVERSION) is
//! never loaded in its place.
//!
//! SOVERSION is the part of the crate's version (Cargo.toml, the single source of
//! rtws's version) that changes on a breaking release, as cargo-c computes it, so
//! `cargo cinstall` and the CMake install (cmake/install.cmake) agree:
//! MAJOR from 1.0 on, 0.MINOR for 0.x, 0.0.PATCH for 0.0.x (README, "Versions and
//! compatibility"). Only the cdylib gets the flag: the staticlib and the rlib have
//! no SONAME, and test binaries are not libraries.

fn main() {
    let part = |name: &str| -> u64 {
        let value = std::env::var(name).unwrap_or_else(|_| panic!("{name} not set by cargo"));
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a number"))
    };
    let (major, minor, patch) = (
        part("CARGO_PKG_VERSION_MAJOR"),
        part("CARGO_PKG_VERSION_MINOR"),
        part("CARGO_PKG_VERSION_PATCH"),
    );
    // rtws_GetVersion and RTWS_MAKE_VERSION (rtws.h) pack the version as
    // major * 1000000 + minor * 1000 + patch.
    assert!(
        minor < 1000 && patch < 1000,
        "rtws versions keep MINOR and PATCH below 1000 (RTWS_MAKE_VERSION)"
    );
    let soversion = match (major, minor) {
        (0, 0) => format!("0.0.{patch}"),
        (0, minor) => format!("0.{minor}"),
        (major, _) => major.to_string(),
    };
    // ELF systems whose linker takes -soname (the list cargo-c uses; Android loads
    // libraries by their plain name). Elsewhere (macOS's install_name, Windows' import
    // libraries) the library keeps cargo's defaults.
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let elf = [
        "linux",
        "freebsd",
        "dragonfly",
        "netbsd",
        "openbsd",
        "illumos",
        "haiku",
        "hurd",
    ];
    if os == "android" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,librtws.so");
    } else if elf.contains(&os.as_str()) {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,librtws.so.{soversion}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
