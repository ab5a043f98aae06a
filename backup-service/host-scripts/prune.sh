#!/bin/bash
# bk-log-backup prune.sh: removes the old backup directories one schedule made on this host, and
# nothing else. Runs on BlueKing hosts through JOB after a scheduled run. Needs bash >= 4.2 and
# GNU coreutils.
#
# Arguments, protocol 2 (docs/host-protocol.md). Every argument is ONE standard-Base64 token
# ("-" = empty string):
#   1 protocol "2"   2 run id   3 directory (absolute)   4 schedule id
#   5 keep_last (decimal, or empty for none)   6 keep_within in seconds (or empty for none);
#   at least one of the two
#   7 k, the number of backups the service says must be kept, then their k names
#   then the names of the candidates the service wants removed (none is fine)
# As a JOB plan step with an empty script_param, the same token string is read from the JOB string
# global variable `bkb_args`.
#
# Every candidate is verified again before anything is deleted: it must be a valid backup name,
# <directory>/backup/<name> must be a real directory (never a symlink: it is never followed),
# and its mark <directory>/backup/.<name>.mark (written by backup.sh) must name this schedule and
# the run its .<name>.run names. A candidate is kept when it is on the keep list, is the newest
# finished backup with status ok this schedule has here, is among the keep_last newest of those,
# started less than keep_within seconds ago, or its backup.sh still runs. Removal is rm -r on
# one file system (a mount inside is not entered); the side files go after the directory, the
# mark last, so an interrupted prune is finished by the next one.
# Exit codes: 0 ok, 1 internal error, 2 bad arguments, 3 directory missing or not a directory,
# 4 permission denied, 6 some removals failed.

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

n_cand=0 n_pruned=0 n_gone=0 n_kept=0 n_failed=0
bkb_trailer() {
    bkb_emit "@bkb 2 end $bkb_run $1 candidates=$n_cand pruned=$n_pruned gone=$n_gone kept=$n_kept failed=$n_failed"
}

name_re='^backup_[0-9]{8}_[0-9]{6}_[0-9a-z]{4,32}$'

# Reads the mark of backup $1 into mk_run, mk_sched, mk_started and mk_status; fails when there
# is none (or a symlink, or a file that is not a mark of that very name).
bkb_read_mark() {
    local f=.$1.mark magic= ver= name= code ended extra=
    mk_run= mk_sched= mk_started= mk_status=
    [ -f "$f" ] && [ ! -L "$f" ] || return 1
    read -r magic ver mk_run name mk_sched mk_started mk_status code ended extra <"$f" 2>/dev/null
    [ "$magic $ver $name" = "bkb-mark 2 $1" ] && [ -z "$extra" ] &&
        [[ $mk_run =~ ^[A-Za-z0-9_-]{8,64}$ && $mk_sched =~ ^([A-Za-z0-9_-]{1,64})$ &&
            $mk_started =~ ^[0-9]{1,12}$ && $mk_status =~ ^(running|ok|disk_full)$ ]]
}

# One report line: $1 outcome, $2 reason (or -), $3 Base64 detail (or -).
bkb_report() {
    bkb_emit "R $tok $1 $2 ${3:--}"
    case $1 in
    pruned) n_pruned=$((n_pruned + 1)) ;;
    gone) n_gone=$((n_gone + 1)) ;;
    kept) n_kept=$((n_kept + 1)) ;;
    *) n_failed=$((n_failed + 1)) ;;
    esac
}

# Reports a failed removal from the tool's message $1.
bkb_failed() {
    local reason
    case $1 in
    *"Permission denied"* | *"Operation not permitted"*) reason=permission_denied ;;
    *"Read-only file system"*) reason=read_only ;;
    *) reason=io_error ;;
    esac
    bkb_report failed "$reason" "$(bkb_b64 "${1:0:200}")"
}

# Verifies the candidate $1 (its argument token is $2) and removes it when nothing protects it.
bkb_prune() {
    local n=$1 b=.$1 err run= pid= started=
    local -a side
    tok=$n
    if [[ ! $n =~ $name_re ]]; then
        tok=$2
        bkb_report kept bad_name
        return
    fi
    side=("$b.manifest" "$b.index" "$b.index.tmp" "$b.inflight" "$b.pid" "$b.mark.tmp" "$b.run")
    if [ "$have_backup" = 0 ]; then
        bkb_report gone -
        return
    fi
    if [ ! -e "$n" ] && [ ! -L "$n" ] && [ ! -e "$b.mark" ] && [ ! -L "$b.mark" ]; then
        for err in "${side[@]}"; do
            [ -e "$err" ] || [ -L "$err" ] && break
            err=
        done
        if [ -z "$err" ]; then
            bkb_report gone -
            return
        fi
    fi
    if ! bkb_read_mark "$n"; then
        bkb_report kept not_marked
        return
    fi
    if [ "$mk_sched" = - ]; then
        bkb_report kept manual
        return
    fi
    if [ "$mk_sched" != "$sched" ]; then
        bkb_report kept other_schedule
        return
    fi
    if [ -e "$b.run" ] || [ -L "$b.run" ]; then
        [ -f "$b.run" ] && [ ! -L "$b.run" ] && read -r run <"$b.run" 2>/dev/null
        if [ "$run" != "$mk_run" ]; then
            bkb_report kept not_marked
            return
        fi
    fi
    if [ -n "${keep[$n]-}" ]; then
        bkb_report kept keep_list
        return
    fi
    if [ "$n" = "$newest" ]; then
        bkb_report kept newest
        return
    fi
    if [ -n "${last[$n]-}" ]; then
        bkb_report kept keep_last
        return
    fi
    if [ -n "$keep_within" ] && ((now - mk_started < keep_within)); then
        bkb_report kept keep_within
        return
    fi
    if [ "$mk_status" = running ] && [ -f "$b.pid" ] && read -r pid started <"$b.pid" 2>/dev/null &&
        [[ $pid =~ ^[1-9][0-9]*$ && $started =~ ^([0-9]+|-)$ ]] && bkb_alive "$pid" "$started"; then
        bkb_report kept running
        return
    fi
    if [ -L "$n" ] || { [ -e "$n" ] && [ ! -d "$n" ]; }; then
        bkb_report kept not_a_directory
        return
    fi
    if [ -d "$n" ] && ! err=$(rm -rf --one-file-system -- "$n" 2>&1); then
        bkb_failed "$err"
        return
    fi
    if ! err=$(rm -f -- "${side[@]}" 2>&1) || ! err=$(rm -f -- "$b.mark" 2>&1); then
        bkb_failed "$err"
        return
    fi
    bkb_report pruned -
}

bkb_run=-
if ! bkb_load_args "$@" || [ ${#bkb_argv[@]} -lt 7 ]; then
    bkb_emit "@bkb 2 begin prune - - -"
    bkb_finish script_error 2 "arguments are not protocol 2 prune arguments"
fi
sched=${bkb_argv[3]}
if [[ ! ${bkb_argv[1]} =~ ^[A-Za-z0-9_-]{8,64}$ || ! $sched =~ ^[A-Za-z0-9_-]{1,64}$ ]]; then
    bkb_emit "@bkb 2 begin prune - - -"
    bkb_finish script_error 2 "bad run id or schedule id"
fi
bkb_run=${bkb_argv[1]}
bkb_emit "@bkb 2 begin prune $bkb_run ${bkb_raw[2]} $sched"
dir=${bkb_argv[2]}
keep_last=${bkb_argv[4]}
keep_within=${bkb_argv[5]}
nkeep=${bkb_argv[6]}
bkb_valid_dir "$dir" || bkb_finish script_error 2 "bad directory"
[[ -z $keep_last || $keep_last =~ ^[1-9][0-9]{0,8}$ ]] || bkb_finish script_error 2 "bad keep_last"
[[ -z $keep_within || $keep_within =~ ^[1-9][0-9]{0,9}$ ]] || bkb_finish script_error 2 "bad keep_within"
[ -n "$keep_last$keep_within" ] || bkb_finish script_error 2 "neither keep_last nor keep_within given"
[[ $nkeep =~ ^(0|[1-9][0-9]{0,5})$ ]] && ((7 + nkeep <= ${#bkb_argv[@]})) ||
    bkb_finish script_error 2 "bad keep list"
declare -A keep=() last=()
for n in "${bkb_argv[@]:7:nkeep}"; do
    [[ $n =~ $name_re ]] || bkb_finish script_error 2 "bad name in the keep list"
    keep[$n]=1
done
cands=("${bkb_argv[@]:7+nkeep}")
craw=("${bkb_raw[@]:7+nkeep}")

bkb_enter_dir "$dir"
if [ -L backup ] || { [ -e backup ] && [ ! -d backup ]; }; then
    bkb_finish script_error 1 "$dir/backup is not a directory"
fi
printf -v now '%(%s)T' -1
# From here on the working directory is <dir>/backup itself (the very directory checked: a
# symlink swapped in for it meanwhile is refused), so no path leads through a symlink.
newest=
have_backup=0
if [ -d backup ]; then
    id=$(stat -c "%F %d %i" -- backup 2>&1) || bkb_finish script_error 1 "cannot stat $dir/backup: $id"
    err=$(cd -- backup 2>&1) && cd -- backup 2>/dev/null || case $err in
    *"Permission denied"*) bkb_finish permission_denied 4 "$err" ;;
    *) bkb_finish script_error 1 "cannot enter $dir/backup: $err" ;;
    esac
    [ "$(stat -c "%F %d %i" . 2>&1)" = "$id" ] && [ "${id%% *}" = directory ] ||
        bkb_finish script_error 1 "$dir/backup changed while it was entered"
    have_backup=1
    # This schedule's finished backups with status ok here, newest first: the newest is
    # always kept, and so are the keep_last newest.
    for m in .backup_*.mark; do
        n=${m#.}
        n=${n%.mark}
        [[ $n =~ $name_re ]] && bkb_read_mark "$n" && [ "$mk_sched" = "$sched" ] &&
            [ "$mk_status" = ok ] && printf '%s %s\n' "$mk_started" "$n"
    done >"$bkb_tmp/ok"
    i=0
    while read -r _ n; do
        [ $i -eq 0 ] && newest=$n
        i=$((i + 1))
        [ -n "$keep_last" ] && ((i <= keep_last)) || break
        last[$n]=1
    done < <(sort -k1,1nr -k2,2r -- "$bkb_tmp/ok")
fi
for i in "${!cands[@]}"; do
    n_cand=$((n_cand + 1))
    bkb_prune "${cands[i]}" "${craw[i]}"
done
[ "$n_failed" -gt 0 ] && bkb_finish ok 6
bkb_finish ok 0
