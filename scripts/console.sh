#!/usr/bin/env bash
# Builds and tests the web console (console/), installing what it needs when missing:
#   scripts/console.sh build    npm ci (when the lockfile changed), the typed client generated
#                               from proto/ by the pinned buf, type check, vite build into
#                               console/dist (backup-service embeds it when next compiled)
#   scripts/console.sh test     the front end's unit tests (vitest)
#   scripts/console.sh browser  installs Debian's chromium and a Chinese font when missing (the
#                               browser tests in tests/tests/console_browser.rs drive it)
# Node.js and npm come from Debian when missing (Debian 12's Node 18 is enough).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
console=$root/console

ensure_node() {
    ensure_cmd node nodejs
    ensure_cmd npm npm
}

# npm ci when node_modules is missing or older than the lockfile.
ensure_modules() {
    ensure_node
    local stamp=$console/node_modules/.package-lock.json
    if [ ! -f "$stamp" ] || [ "$console/package-lock.json" -nt "$stamp" ]; then
        log "npm ci in console/"
        npm ci --prefix "$console" --no-audit --no-fund --loglevel=error </dev/null >&2
    fi
}

case "${1:-build}" in
build)
    ensure_modules
    log "building the console into console/dist"
    npm run --prefix "$console" build >&2
    ;;
test)
    ensure_modules
    npm run --prefix "$console" test
    ;;
browser)
    ensure_modules
    ensure_cmd chromium chromium
    # The pages are Chinese by default: without a CJK font the screenshots show boxes.
    if [ ! -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
        log "installing a Chinese font for the browser tests' screenshots"
        apt_install fonts-wqy-microhei
    fi
    ;;
*)
    die "usage: scripts/console.sh build|test|browser"
    ;;
esac
