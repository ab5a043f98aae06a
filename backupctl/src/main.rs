//! `backupctl`: see the library for everything; this only runs it and exits with its code.

fn main() {
    std::process::exit(backupctl::main_with(std::env::args_os()));
}
