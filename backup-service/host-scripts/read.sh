#!/bin/bash
# bk-log-backup read.sh: prints one page of the manifest backup.sh wrote for a run, so a backup
# of any number of files reaches the service through JOB logs of bounded size. Runs on BlueKing
# hosts through JOB. Needs bash >= 4.2 and GNU coreutils.
#
# Arguments, protocol 2 (docs/host-protocol.md). Every argument is ONE standard-Base64 token:
#   1 protocol "2"   2 run id   3 directory (absolute)
#   4 backup name (backup_YYYYmmdd_HHMMSS_<short id>)   5 page (decimal, 0-based)
#   6 skip (optional, decimal): records of the page already read, when JOB cut the last read
# As a JOB plan step with an empty script_param, the same token string is read from the JOB string
# global variable `bkb_args`.
#
# When backup.sh of the run died (index complete=0), the batch it was copying is settled first:
# its copies, which no record vouches for, are removed, and the manifest is split into pages
# again (BKB_PAGE_BYTES, default 3000000).
# Exit codes: 0 page printed, 1 internal error, 2 bad arguments, 3 directory missing or not a
# directory, 4 permission denied, 7 no manifest, busy or bad page.

# ---- shared: begin (identical in search.sh, backup.sh, read.sh and prune.sh; a test compares them) ----
export LC_ALL=C
umask 022
bkb_budget=4000000 # bytes of listed lines; JOB keeps about 5 MB of log per host
bkb_warnings=0
bkb_tmp=
bkb_cleanup=()
trap 'rm -rf -- "${bkb_cleanup[@]}"' EXIT

bkb_emit() {
    printf '%s\n' "$1"
}

# Base64 of $1 (a few short values only: one fork each).
bkb_b64() {
    local v
    v=$(printf '%s' "$1" | base64 -w0) && printf '%s' "${v:--}"
}

# The path token of the relative path $1: "./<rel>" when every byte is safe, else its Base64.
bkb_tok() {
    if [[ $1 =~ ^[A-Za-z0-9._+@%=~,:/-]+$ ]]; then
        printf './%s' "$1"
    else
        bkb_b64 "$1"
    fi
}

# Decodes one argument token into REPLY.
bkb_dec() {
    REPLY=
    [ "$1" = - ] && return 0
    [[ $1 =~ ^[A-Za-z0-9+/]+={0,2}$ ]] && ((${#1} % 4 == 0)) || return 1
    { REPLY=$(printf '%s' "$1" | base64 -d 2>/dev/null && printf x); } 2>/dev/null || return 1
    REPLY=${REPLY%x}
}

# Fills bkb_raw (tokens) and bkb_argv (decoded) from "$@", else from the plan variable bkb_args.
bkb_load_args() {
    bkb_raw=("$@")
    if [ $# -eq 0 ] && [ -n "${bkb_args-}" ]; then
        [[ $bkb_args =~ ^[A-Za-z0-9+/=\ -]*$ ]] || return 1
        read -r -a bkb_raw <<<"$bkb_args"
    fi
    bkb_argv=()
    local t
    for t in "${bkb_raw[@]}"; do
        bkb_dec "$t" || return 1
        bkb_argv+=("$REPLY")
    done
    [ "${bkb_argv[0]-}" = 2 ]
}

bkb_valid_dir() {
    [[ $1 == /?* && $1 != */ && $1 != *[[:cntrl:]]* ]] || return 1
    [[ $1/ != *//* && $1/ != */./* && $1/ != */../* ]]
}

bkb_valid_suffixes() {
    local s
    for s in "${bkb_suffixes[@]}"; do
        [[ $s =~ ^\.[A-Za-z0-9_-][A-Za-z0-9._-]{0,31}$ ]] || return 1
    done
}

# Ends the run: optional E line, the trailer (bkb_trailer, per script), the exit code.
# $1 status, $2 exit code, $3 detail.
bkb_finish() {
    [ -n "${3-}" ] && bkb_emit "E $(bkb_b64 "$3")"
    bkb_trailer "$1"
    exit "$2"
}

# Enters the directory $1 or finishes with dir_missing / not_a_directory / permission_denied.
bkb_enter_dir() {
    local err
    err=$( (cd -- "$1") 2>&1) && cd -- "$1" 2>/dev/null || case $err in
    *"No such file or directory"*) bkb_finish dir_missing 3 "$err" ;;
    *"Not a directory"*) bkb_finish not_a_directory 3 "$err" ;;
    *"Permission denied"*) bkb_finish permission_denied 4 "$err" ;;
    *) bkb_finish script_error 1 "cannot enter directory: $err" ;;
    esac
    err=$(find . -mindepth 1 -maxdepth 1 -quit 2>&1 >/dev/null) && [ -z "$err" ] || case $err in
    *"Permission denied"*) bkb_finish permission_denied 4 "$err" ;;
    *) bkb_finish script_error 1 "cannot list directory: $err" ;;
    esac
    bkb_tmp=$(mktemp -d 2>/dev/null) || bkb_finish script_error 1 "mktemp failed"
    bkb_cleanup+=("$bkb_tmp")
}

# Walks . once ($1 = 1 keeps ./backup): regular files named *<suffix> (any, without suffixes)
# whose relative path is all safe bytes go to $bkb_tmp/safe as "F <size> <mtime> ./<rel>\n",
# the others to $bkb_tmp/unsafe as "<size> <mtime> ./<rel>\0"; directories it cannot enter go
# to $bkb_tmp/unread ("<rel>\0"), find's messages to $bkb_tmp/find.err. With $2 = 1 every
# match's size also goes to $bkb_tmp/sizes as "<size>+" (summed by one arithmetic expansion).
bkb_find() {
    local -a prune=(-path ./backup -prune -o) names=() sizes=()
    local s
    [ "$1" = 1 ] && prune=()
    [ "${2-}" = 1 ] && sizes=(-fprintf "$bkb_tmp/sizes" '%s+')
    for s in "${bkb_suffixes[@]}"; do names+=(-o -name "*$s"); done
    [ ${#names[@]} -gt 0 ] && names=(\( "${names[@]:1}" \))
    find . -mindepth 1 -regextype posix-extended "${prune[@]}" \
        \( -type d \( ! -readable -o ! -executable \) -fprintf "$bkb_tmp/unread" '%P\0' -prune \) -o \
        \( -type f "${names[@]}" "${sizes[@]}" \( -regex '\./[A-Za-z0-9._+@%=~,:/-]+' \
        -fprintf "$bkb_tmp/safe" 'F %s %T@ %p\n' -o -fprintf "$bkb_tmp/unsafe" '%s %T@ %p\0' \) \) \
        2>"$bkb_tmp/find.err"
    : >>"$bkb_tmp/safe" >>"$bkb_tmp/unsafe" >>"$bkb_tmp/unread" >>"$bkb_tmp/sizes"
}

# Reads $bkb_tmp/unsafe sorted by path into bkb_usize / bkb_umtime / bkb_urel ("./<rel>").
bkb_read_unsafe() {
    local rec rest
    bkb_usize=() bkb_umtime=() bkb_urel=()
    while IFS= read -r -d '' rec; do
        bkb_usize+=("${rec%% *}")
        rest=${rec#* }
        bkb_umtime+=("${rest%% *}")
        bkb_urel+=("${rest#* }")
    done < <(sort -z -t ' ' -k3 "$bkb_tmp/unsafe")
}

# Base64-encodes the paths "$@" ("./<rel>") into bkb_utok with ONE base64 process: each <rel>
# gets 0-2 leading "./" so its length is a multiple of 3, which makes the Base64 of the
# concatenation the concatenation of the per-path Base64 (the parser drops leading "./").
bkb_encode_paths() {
    local p pre
    local -a lens=()
    bkb_utok=()
    [ $# -eq 0 ] && return 0
    for p in "${@#./}"; do
        case $((${#p} % 3)) in 0) pre= ;; 1) pre=./ ;; *) pre=././ ;; esac
        printf '%s%s' "$pre" "$p"
        lens+=($(((${#pre} + ${#p}) / 3 * 4)))
    done >"$bkb_tmp/paths"
    base64 -w0 <"$bkb_tmp/paths" >"$bkb_tmp/paths.b64" || return 1
    exec 9<"$bkb_tmp/paths.b64"
    for p in "${lens[@]}"; do
        IFS= read -r -N "$p" -u 9 pre && [ ${#pre} -eq "$p" ] || return 1
        bkb_utok+=("$pre")
    done
    exec 9<&-
}

# W lines: directories find could not enter, then find's own complaints (at most 100 lines).
bkb_emit_warnings() {
    local p line
    while IFS= read -r -d '' p; do
        ((bkb_warnings < 100)) || break
        bkb_emit "W unreadable_dir $(bkb_tok "$p") -"
        bkb_warnings=$((bkb_warnings + 1))
    done <"$bkb_tmp/unread"
    while IFS= read -r line; do
        ((bkb_warnings < 100)) || break
        bkb_emit "W find_error - $(bkb_b64 "${line:0:300}")"
        bkb_warnings=$((bkb_warnings + 1))
    done <"$bkb_tmp/find.err"
}

# Settles the backup named $1 after its backup.sh died mid-batch (cwd = the directory): cuts the
# manifest back to its size before that batch and removes the batch's copies, which no record
# vouches for. Sets bkb_settled to the number of copies removed.
bkb_settle() {
    local b=backup/.$1 size=
    bkb_settled=0
    [ -f "$b.inflight" ] || return 0
    IFS= read -r -d '' size <"$b.inflight"
    [[ $size =~ ^[0-9]+$ ]] || return 1
    tail -c +$((${#size} + 2)) -- "$b.inflight" >"$bkb_tmp/settle" || return 1
    read -r bkb_settled < <(cd -- "backup/$1" &&
        xargs -0 -r stat -c x -- <"$bkb_tmp/settle" 2>/dev/null | wc -l)
    (cd -- "backup/$1" && xargs -0 -r rm -f -- <"$bkb_tmp/settle") &&
        truncate -s "$size" -- "$b.manifest" && rm -f -- "$b.inflight"
}

# Splits the manifest of the backup named $1 into pages of at most $2 bytes of whole lines and
# replaces its index in one rename (found=$found, complete=$3). Sets bkb_files (records) and
# bkb_pages ("<records> <bytes>" per page; an empty manifest has one empty page).
bkb_paginate() {
    local b=backup/.$1 n c
    bkb_files=0 bkb_pages=()
    split -C "$2" --filter='wc -lc' -- "$b.manifest" >"$bkb_tmp/pages" || return 1
    while read -r n c; do
        bkb_pages+=("$n $c")
        bkb_files=$((bkb_files + n))
    done <"$bkb_tmp/pages"
    [ ${#bkb_pages[@]} -eq 0 ] && bkb_pages=("0 0")
    {
        printf 'bkb-manifest 2 %s found=%s files=%s complete=%s\n' \
            "$bkb_run" "$found" "$bkb_files" "$3"
        printf '%s\n' "${bkb_pages[@]}"
    } >"$b.index.tmp" && mv -f -- "$b.index.tmp" "$b.index"
}

# Whether process $1, started at $2 (field 22 of /proc/<pid>/stat, or "-" when unknown), still
# runs and is not a zombie. The start time tells a reused PID (or the same number in another
# PID namespace) from the backup that wrote it.
bkb_alive() {
    local stat=
    local -a f
    if ! read -r stat 2>/dev/null <"/proc/$1/stat"; then
        [ "$2" = - ] && kill -0 "$1" 2>/dev/null
        return
    fi
    read -r -a f <<<"${stat##*) }"
    [ "${f[0]}" != Z ] && { [ "$2" = - ] || [ "${f[19]-}" = "$2" ]; }
}
# ---- shared: end ----

found=0
files=0
pages=0
listed=0
complete=0
bkb_settled=0
bkb_trailer() {
    bkb_emit "@bkb 2 end $bkb_run $1 found=$found files=$files pages=$pages listed=$listed complete=$complete settled=$bkb_settled"
}

bkb_run=-
if ! bkb_load_args "$@" || [ ${#bkb_argv[@]} -lt 5 ] || [ ${#bkb_argv[@]} -gt 6 ]; then
    bkb_emit "@bkb 2 begin read - - - - -"
    bkb_finish script_error 2 "arguments are not protocol 2 read arguments"
fi
name=${bkb_argv[3]}
page=${bkb_argv[4]}
skip=${bkb_argv[5]-0}
if [[ ! ${bkb_argv[1]} =~ ^[A-Za-z0-9_-]{8,64}$ || ! $name =~ ^backup_[0-9]{8}_[0-9]{6}_[0-9a-z]{4,32}$ ||
    ! $page =~ ^(0|[1-9][0-9]{0,8})$ || ! $skip =~ ^(0|[1-9][0-9]{0,8})$ ]]; then
    bkb_emit "@bkb 2 begin read - - - - -"
    bkb_finish script_error 2 "bad run id, backup name, page or skip"
fi
bkb_run=${bkb_argv[1]}
bkb_emit "@bkb 2 begin read $bkb_run ${bkb_raw[2]} $name $page $skip"
dir=${bkb_argv[2]}
page_bytes=${BKB_PAGE_BYTES:-3000000}
bkb_valid_dir "$dir" || bkb_finish script_error 2 "bad directory"
[[ $page_bytes =~ ^[1-9][0-9]{3,8}$ ]] || bkb_finish script_error 2 "bad BKB_PAGE_BYTES"

bkb_enter_dir "$dir"
b=backup/.$name
if [ ! -f "$b.run" ] || [ -L "$b.run" ] || [ "$(<"$b.run")" != "$bkb_run" ]; then
    bkb_finish no_manifest 7 "no backup of this run here"
fi
pid= started=
[ -f "$b.pid" ] && read -r pid started <"$b.pid"
if [[ $pid =~ ^[1-9][0-9]*$ && $started =~ ^([0-9]+|-)$ ]] && bkb_alive "$pid" "$started"; then
    bkb_finish busy 7 "backup.sh of this run is still running (pid $pid)"
fi
if [ ! -f "$b.manifest" ] || [ ! -f "$b.index" ]; then
    bkb_finish no_manifest 7 "the backup of this run has no manifest"
fi
read -r magic version run f m c <"$b.index"
found=${f#found=} complete=${c#complete=}
if [ "$magic $version $run" != "bkb-manifest 2 $bkb_run" ] || [[ ! $found =~ ^[0-9]+$ ]] ||
    [[ $complete != [01] ]]; then
    found=0 complete=0
    bkb_finish script_error 1 "the manifest index is not readable"
fi
if [ "$complete" = 0 ]; then
    bkb_settle "$name" || bkb_finish script_error 1 "cannot settle the batch in flight"
    # A full disk may refuse the new index: the pages are known all the same.
    bkb_paginate "$name" "$page_bytes" 0 2>/dev/null || [ -s "$bkb_tmp/pages" ] ||
        [ ! -s "$b.manifest" ] || bkb_finish script_error 1 "cannot page the manifest"
else
    mapfile -t -s 1 bkb_pages <"$b.index"
    bkb_files=0
    for p in "${bkb_pages[@]}"; do bkb_files=$((bkb_files + ${p%% *})); done
fi
files=$bkb_files pages=${#bkb_pages[@]}
((page < pages)) || bkb_finish bad_page 7 "page $page of $pages pages"
offset=0
for ((i = 0; i < page; i++)); do offset=$((offset + ${bkb_pages[i]#* })); done
read -r listed len <<<"${bkb_pages[page]}"
# The summary first: a log JOB cuts short still tells the service what it needs to go on.
bkb_emit "S found=$found files=$files pages=$pages complete=$complete settled=$bkb_settled"
if ((skip == 0)); then
    tail -c +$((offset + 1)) -- "$b.manifest" | head -c "$len"
else
    tail -c +$((offset + 1)) -- "$b.manifest" | head -c "$len" | tail -n +$((skip + 1))
    listed=$((listed > skip ? listed - skip : 0))
fi
bkb_finish ok 0
