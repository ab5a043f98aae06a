#!/usr/bin/env bash
# Runs the pinned buf CLI (scripts/buf/package.json), installing it into scripts/buf/node_modules
# with `npm ci` on first use (Debian's npm is installed when missing). Every argument goes to buf:
#   scripts/buf.sh curl --protocol grpc --http2-prior-knowledge http://127.0.0.1:50052 --list-services
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

buf_dir=$root/scripts/buf
buf=$buf_dir/node_modules/.bin/buf
if [ ! -x "$buf" ]; then
    ensure_cmd npm npm
    log "installing the pinned buf into scripts/buf/node_modules"
    npm ci --prefix "$buf_dir" --no-audit --no-fund --loglevel=error </dev/null >&2
fi
exec "$buf" "$@"
