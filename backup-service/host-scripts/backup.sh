#!/bin/bash
# bk-log-backup backup.sh: copies the files under a directory whose names end in given suffixes to
# <directory>/backup/<backup name>/<path relative to directory>, preserving mode and mtime, and
# reports each copy with its size and sha256. Runs on BlueKing hosts through JOB
# (fast_execute_script or a JOB plan step). Needs bash >= 4.2, GNU coreutils and GNU findutils.
#
# Arguments, protocol 1. Every argument is ONE standard-Base64 token ("-" = empty string), so no
# shell can misread user input:
#   1 protocol "1"   2 run id   3 directory (absolute)
#   4 backup name (backup_YYYYmmdd_HHMMSS_<short id>)   5 max files
#   6.. suffixes, each with its leading dot (".log")
# As a JOB plan step with an empty script_param, the same token string is read from the JOB string
# global variable `bkb_args` (or set the step's script_param to `${bkb_args}`).
#
# The files are found again here (the search is a preview): JOB sends one script_param to every
# host, so a per-host file list cannot be passed. <directory>/backup is never searched. A backup
# directory is never reused by another run: <directory>/backup/.<backup name>.run holds the run id
# that created it; the same run id (JOB re-running the step) resumes into it, any other is refused.
#
# Output: one framed record per line; the grammar is in backup-service/src/hostscript/parse.rs.
# Exit codes: 0 ok or no files, 1 internal error, 2 bad arguments, 3 directory missing or not a
# directory, 4 permission denied, 5 backup directory already exists, 6 some files failed to copy.

# ---- shared: begin (identical in search.sh and backup.sh; a test compares them) ----
export LC_ALL=C
umask 022
bkb_budget=4000000 # bytes of record lines; JOB keeps about 5 MB of log per host
bkb_out=0
bkb_files=0
bkb_bytes=0
bkb_warnings=0
bkb_truncated=0
bkb_tmp=
trap '[ -n "$bkb_tmp" ] && rm -rf -- "$bkb_tmp"' EXIT

bkb_emit() {
    printf '%s\n' "$1"
    bkb_out=$((bkb_out + ${#1} + 1))
}

# Base64 of $1 (a few short values only: one fork each).
bkb_b64() {
    local v
    v=$(printf '%s' "$1" | base64 -w0) && printf '%s' "${v:--}"
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
    [ "${bkb_argv[0]-}" = 1 ]
}

bkb_valid_dir() {
    [[ $1 == /?* && $1 != */ && $1 != *[[:cntrl:]]* ]] || return 1
    [[ $1/ != *//* && $1/ != */./* && $1/ != */../* ]]
}

# Ends the run: optional E line, the trailer, the exit code. $1 status, $2 exit code, $3 detail.
bkb_finish() {
    [ -n "${3-}" ] && bkb_emit "E $(bkb_b64 "$3")"
    bkb_emit "@bkb 1 end $bkb_run $1 files=$bkb_files bytes=$bkb_bytes truncated=$bkb_truncated warnings=$bkb_warnings$bkb_extra"
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
}

# Finds regular files named *<suffix> under ., at most $2 of them ($1 = 1 keeps ./backup).
# Fills bkb_rel / bkb_size / bkb_mtime, and bkb_unreadable with directories it could not enter.
bkb_collect() {
    local -a prune=(-path ./backup -prune -o) names=()
    local s rec rest
    [ "$1" = 1 ] && prune=()
    for s in "${bkb_suffixes[@]}"; do names+=(-o -name "*$s"); done
    bkb_rel=() bkb_size=() bkb_mtime=() bkb_unreadable=()
    while IFS= read -r -d '' rec; do
        rest=${rec#? }
        if [ "${rec:0:1}" = d ]; then
            bkb_unreadable+=("$rest")
            continue
        fi
        if [ ${#bkb_rel[@]} -ge "$2" ]; then
            bkb_truncated=1
            break
        fi
        bkb_size+=("${rest%% *}")
        rest=${rest#* }
        s=${rest%% *}
        bkb_mtime+=("${s%%.*}")
        bkb_rel+=("${rest#* }")
    done < <(find . -mindepth 1 "${prune[@]}" \
        \( -type d \( ! -readable -o ! -executable \) -printf 'd %P\0' -prune \) -o \
        \( -type f \( "${names[@]:1}" \) -printf 'f %s %T@ %P\0' \) 2>"$bkb_tmp/find.err")
    # Past the limit, stop the walk rather than leave find running after the script.
    if [ "$bkb_truncated" = 1 ] && [ -n "$!" ]; then kill "$!" 2>/dev/null; fi
}

# Base64-encodes every bkb_rel path into bkb_tok with ONE base64 process: each path gets 0-2
# leading "./" so its length is a multiple of 3, which makes the Base64 of the concatenation the
# concatenation of the per-path Base64 (the parser strips leading "./").
bkb_encode_paths() {
    local p pre
    local -a lens=()
    bkb_tok=()
    [ ${#bkb_rel[@]} -eq 0 ] && return 0
    for p in "${bkb_rel[@]}"; do
        case $((${#p} % 3)) in 0) pre= ;; 1) pre=./ ;; *) pre=././ ;; esac
        printf '%s%s' "$pre" "$p"
        lens+=($(((${#pre} + ${#p}) / 3 * 4)))
    done >"$bkb_tmp/paths"
    base64 -w0 <"$bkb_tmp/paths" >"$bkb_tmp/paths.b64" || return 1
    exec 9<"$bkb_tmp/paths.b64"
    for p in "${lens[@]}"; do
        IFS= read -r -N "$p" -u 9 pre && [ ${#pre} -eq "$p" ] || return 1
        bkb_tok+=("$pre")
    done
    exec 9<&-
}

# W lines: directories find could not enter, then find's own complaints (at most 100 lines).
bkb_emit_warnings() {
    local p line
    for p in "${bkb_unreadable[@]}"; do
        ((bkb_warnings < 100)) || break
        bkb_emit "W unreadable_dir $(bkb_b64 "$p") -"
        bkb_warnings=$((bkb_warnings + 1))
    done
    while IFS= read -r line; do
        ((bkb_warnings < 100)) || break
        bkb_emit "W find_error - $(bkb_b64 "${line:0:300}")"
        bkb_warnings=$((bkb_warnings + 1))
    done <"$bkb_tmp/find.err"
}
# ---- shared: end ----

# Sets status/reason/detail for a failed copy from the tool's message $1.
bkb_failed() {
    status=failed
    case $1 in
    *"No space left on device"* | *"Disk quota exceeded"*) reason=disk_full ;;
    *"Permission denied"* | *"Operation not permitted"*) reason=permission_denied ;;
    *"Read-only file system"*) reason=read_only ;;
    *) reason=io_error ;;
    esac
    detail=$(bkb_b64 "${1:0:200}")
}

# Copies $1 to $2; sets status, size, mtime, sha, reason, detail.
bkb_copy() {
    local src=$1 dst=$2 parent=${2%/*} err out
    status=failed size=- mtime=- sha=- reason=- detail=-
    if [ ! -e "$src" ] && [ ! -L "$src" ]; then
        status=vanished
        return
    fi
    if [ -L "$src" ] || [ ! -f "$src" ]; then
        reason=not_regular
        return
    fi
    if [ -z "${made[$parent]-}" ]; then
        err=$(mkdir -p -- "$parent" 2>&1) || {
            bkb_failed "$err"
            return
        }
        made[$parent]=1
    fi
    if ! err=$(cp -P --preserve=mode,timestamps -- "$src" "$dst" 2>&1); then
        rm -f -- "$dst"
        if [ ! -e "$src" ] && [ ! -L "$src" ]; then
            status=vanished
        else
            bkb_failed "$err"
        fi
        return
    fi
    if [ -L "$dst" ] || [ ! -f "$dst" ]; then
        rm -f -- "$dst"
        reason=not_regular
        return
    fi
    out=$({ sha256sum <"$dst" && stat -c '%s %Y' -- "$dst"; } 2>&1) || {
        rm -f -- "$dst"
        bkb_failed "$out"
        return
    }
    sha=${out%% *}
    out=${out#*$'\n'}
    size=${out% *}
    mtime=${out#* }
    # The copy is kept either way; "changed" says the source no longer hashes the same.
    status=changed
    out=$({ sha256sum <"$src"; } 2>/dev/null) && [ "${out%% *}" = "$sha" ] && status=copied
}

bkb_run=-
bkb_extra=" resumed=0"
if ! bkb_load_args "$@" || [ ${#bkb_argv[@]} -lt 6 ]; then
    bkb_emit "@bkb 1 begin backup - - -"
    bkb_finish script_error 2 "arguments are not protocol 1 backup arguments"
fi
name=${bkb_argv[3]}
if [[ ! ${bkb_argv[1]} =~ ^[A-Za-z0-9_-]{8,64}$ || ! $name =~ ^backup_[0-9]{8}_[0-9]{6}_[0-9a-z]{4,32}$ ]]; then
    bkb_emit "@bkb 1 begin backup - - -"
    bkb_finish script_error 2 "bad run id or backup name"
fi
bkb_run=${bkb_argv[1]}
bkb_emit "@bkb 1 begin backup $bkb_run ${bkb_raw[2]} $name"
dir=${bkb_argv[2]}
max_files=${bkb_argv[4]}
bkb_suffixes=("${bkb_argv[@]:5}")
bkb_valid_dir "$dir" || bkb_finish script_error 2 "bad directory"
[[ $max_files =~ ^[1-9][0-9]{0,5}$ ]] || bkb_finish script_error 2 "bad max files"
for s in "${bkb_suffixes[@]}"; do
    [[ $s =~ ^\.[A-Za-z0-9_-][A-Za-z0-9._-]{0,31}$ ]] || bkb_finish script_error 2 "bad suffix"
done

bkb_enter_dir "$dir"
bkb_collect 0 "$max_files"
if [ ${#bkb_rel[@]} -eq 0 ]; then
    bkb_emit_warnings
    bkb_finish no_files 0
fi
bkb_encode_paths || bkb_finish script_error 1 "cannot encode paths"

# Claim the backup directory: the run marker first (O_EXCL), then the directory itself.
if [ -L backup ] || { [ -e backup ] && [ ! -d backup ]; }; then
    bkb_finish script_error 1 "$dir/backup is not a directory"
fi
err=$(mkdir -p -- backup 2>&1) || case $err in
*"Permission denied"*) bkb_finish permission_denied 4 "$err" ;;
*) bkb_finish script_error 1 "$err" ;;
esac
marker=backup/.$name.run
if err=$( (set -C && printf '%s\n' "$bkb_run" >"$marker") 2>&1); then
    if ! err=$(mkdir -- "backup/$name" 2>&1); then
        rm -f -- "$marker"
        [ -e "backup/$name" ] && bkb_finish backup_exists 5 "$err"
        bkb_finish script_error 1 "$err"
    fi
elif [ -f "$marker" ] && [ ! -L "$marker" ] && [ "$(<"$marker")" = "$bkb_run" ]; then
    bkb_extra=" resumed=1"
    err=$(mkdir -p -- "backup/$name" 2>&1) || bkb_finish script_error 1 "$err"
elif [ -e "$marker" ] || [ -L "$marker" ]; then
    bkb_finish backup_exists 5 "backup directory belongs to another run"
else
    case $err in
    *"Permission denied"*) bkb_finish permission_denied 4 "$err" ;;
    *) bkb_finish script_error 1 "$err" ;;
    esac
fi

# Once the disk is full, later files are reported disk_full without filling it again.
declare -A made=()
any_failed=0
disk_full=0
skipped=$(bkb_b64 "not attempted: an earlier copy found the disk full")
for i in "${!bkb_rel[@]}"; do
    if ((bkb_out + ${#bkb_tok[i]} + 512 > bkb_budget)); then
        bkb_truncated=1
        break
    fi
    if [ "$disk_full" = 1 ]; then
        status=failed size=- mtime=- sha=- reason=disk_full detail=$skipped
    else
        bkb_copy "./${bkb_rel[i]}" "./backup/$name/${bkb_rel[i]}"
        [ "$reason" = disk_full ] && disk_full=1
    fi
    bkb_emit "C $status ${bkb_tok[i]} $size $mtime $sha $reason $detail"
    bkb_files=$((bkb_files + 1))
    case $status in
    copied | changed) bkb_bytes=$((bkb_bytes + size)) ;;
    failed) any_failed=1 ;;
    esac
done
bkb_emit_warnings
[ "$any_failed" = 1 ] && bkb_finish ok 6
bkb_finish ok 0
