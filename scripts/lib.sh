# Shared helpers for the scripts in this folder; sourced, never run.
# Progress goes to stderr so that stdout stays machine-readable (e.g. DATABASE_URL=...).

log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# apt_install PKG...: install Debian packages non-interactively (CI runs as root with no stdin).
# Not as root it needs sudo, which Debian's base system lacks: without it, say what to run.
apt_install() {
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 ||
            die "installing $* needs root: run this as root, or install it yourself (apt-get install $*)"
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq >&2
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >&2
}

# port_in_use PORT: true when something accepts connections on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port FROM: the first port at or above FROM that nothing listens on.
free_port() {
    local p=$1
    while port_in_use "$p"; do p=$((p + 1)); done
    echo "$p"
}

# ensure_cmd CMD PKG: install Debian package PKG when CMD is missing.
ensure_cmd() {
    command -v "$1" >/dev/null 2>&1 && return
    log "$1 not found: installing Debian's $2 package"
    apt_install "$2"
}
