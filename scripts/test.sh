#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, clippy with warnings denied, buf lint on the
# protos, the web console's build and unit tests, then every test in the workspace (the
# console's browser tests in Chromium among them) against a private Postgres (scripts/pg.sh)
# and bk-sim. Installs missing system tools first (Chromium included). Leaves the private
# Postgres running for the next run; `scripts/pg.sh stop` stops it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

bash scripts/ensure-tools.sh
bash scripts/console.sh browser
db_line=$(bash scripts/pg.sh start)
export "${db_line?}"

# Before anything compiles backup-service: it embeds console/dist.
log "console: build and unit tests"
bash scripts/console.sh build
bash scripts/console.sh test
log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
log "buf lint"
bash scripts/buf-lint.sh
log "cargo test"
cargo test --workspace --locked --no-fail-fast
