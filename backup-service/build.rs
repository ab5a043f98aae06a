//! Rebuilds backup-service when the console's built files change (`console::assets` embeds
//! them): a file added to `console/dist` is otherwise not noticed. Before the console is built
//! the folder to watch is `console/` itself, where `dist/` will appear (a missing path would
//! make cargo rerun this script, and recompile the crate, on every build).

use std::path::Path;

fn main() {
    let dist = Path::new("../console/dist");
    if dist.is_dir() {
        println!("cargo::rerun-if-changed=../console/dist");
    } else {
        println!("cargo::rerun-if-changed=../console");
    }
    println!("cargo::rerun-if-changed=build.rs");
}
