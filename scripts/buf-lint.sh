#!/usr/bin/env bash
# Lints the API contracts in proto/ with buf (STANDARD + COMMENTS rules, see proto/buf.yaml)
# and checks they are buf-formatted. Exits non-zero on any finding.
# Fix formatting findings with: scripts/buf.sh format -w proto
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root/proto"
buf=$root/scripts/buf.sh
echo "buf-lint: buf $("$buf" --version) lint" >&2
"$buf" lint
"$buf" format --diff --exit-code
echo "buf-lint: ok" >&2
