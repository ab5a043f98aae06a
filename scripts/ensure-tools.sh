#!/usr/bin/env bash
# Installs what the demo and the tests need beyond the Rust toolchain, when it is missing:
# bubblewrap (bk-sim's per-host sandbox), Node.js + npm (the pinned buf, the web console), curl (the
# demo walkthrough opens a JOB link with it) and the PostgreSQL server (scripts/pg.sh installs
# that one itself). Everything else the scripts, the host scripts, the tests and the benches
# run comes with Debian's base system; tests/tests/fresh_machine.rs checks that. Safe to run
# repeatedly.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

ensure_cmd bwrap bubblewrap
ensure_cmd node nodejs
ensure_cmd npm npm
# The demo walkthrough opens the JOB link it prints with curl.
ensure_cmd curl curl
for component in rustfmt clippy; do
    cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1 ||
        die "cargo $component is missing: install it with \`rustup component add $component\`"
done
