//! Compiles every `.proto` file of this crate into Rust: protox parses them
//! (pure Rust, so no system `protoc`), tonic-prost-build generates messages,
//! clients and servers, and the full descriptor set is written to
//! `$OUT_DIR/descriptor.bin` for gRPC reflection.
//!
//! tonic-prost-build prints no `cargo:rerun-if-changed`, so this script prints
//! one for every `.proto` file and every directory holding them (which also
//! catches added and removed files). A new top-level package directory must be
//! added to [`PACKAGE_ROOTS`].

use std::env;
use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

/// Top-level directories of the protobuf packages, relative to this crate; the
/// crate directory itself is the import root (`import "jobgateway/v1/common.proto"`).
const PACKAGE_ROOTS: &[&str] = &["backup", "jobgateway"];

/// Name of the encoded `FileDescriptorSet` in `OUT_DIR`, read by `src/lib.rs`.
const DESCRIPTOR_FILE: &str = "descriptor.bin";

fn main() -> Result<(), Box<dyn Error>> {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    let mut protos = Vec::new();
    for root in PACKAGE_ROOTS {
        collect_protos(&crate_dir, Path::new(root), &mut protos)?;
    }
    if protos.is_empty() {
        return Err(format!("no .proto files under {PACKAGE_ROOTS:?}").into());
    }
    protos.sort();

    let mut compiler = protox::Compiler::new([&crate_dir])?;
    // Source info carries the comments into the generated docs and into
    // reflection; imports make the descriptor set self-contained, which
    // reflection clients need to resolve google.protobuf types.
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(protos.iter().map(|rel| crate_dir.join(rel)))?;

    fs::write(
        out_dir.join(DESCRIPTOR_FILE),
        compiler.encode_file_descriptor_set(),
    )?;

    // prost-build maps the well-known types to prost-types itself, but needs
    // their descriptors to decide which traits a message can derive.
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}

/// Appends every `.proto` file under `dir` (relative to `crate_dir`) to
/// `protos`, and tells cargo to rerun when any of them or any directory
/// visited changes.
fn collect_protos(
    crate_dir: &Path,
    dir: &Path,
    protos: &mut Vec<PathBuf>,
) -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut entries = fs::read_dir(crate_dir.join(dir))?.collect::<Result<Vec<_>, _>>()?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let rel = dir.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            collect_protos(crate_dir, &rel, protos)?;
        } else if rel.extension().is_some_and(|ext| ext == "proto") {
            println!("cargo:rerun-if-changed={}", rel.display());
            protos.push(rel);
        }
    }
    Ok(())
}
