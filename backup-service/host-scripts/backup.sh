#!/bin/bash
# bk-log-backup backup.sh: copies the files under a directory whose names end in given suffixes to
# <directory>/backup/<backup name>/<path relative to directory>, preserving mode and mtime, and
# records each copy with its size, mode and sha256 in a manifest beside it. Runs on BlueKing
# hosts through JOB (fast_execute_script or a JOB plan step). Needs bash >= 4.2, GNU coreutils,
# findutils and tar.
#
# Arguments, protocol 2 (docs/host-protocol.md). Every argument is ONE standard-Base64 token
# ("-" = empty string), so no shell can misread user input:
#   1 protocol "2"   2 run id   3 directory (absolute)
#   4 backup name (backup_YYYYmmdd_HHMMSS_<short id>)   5 (optional) "schedule=<schedule id>" for
#   a backup a schedule made   then the suffixes, each with its leading dot (".log"); none = every
#   regular file
# As a JOB plan step with an empty script_param, the same token string is read from the JOB string
# global variable `bkb_args` (or set the step's script_param to `${bkb_args}`).
#
# The files are found again here (the search is a preview): JOB sends one script_param to every
# host, so a per-host file list cannot be passed. <directory>/backup is never searched. A backup
# directory is never reused by another run: <directory>/backup/.<backup name>.run holds the run id
# that created it; the same run id (JOB re-running the step) resumes into it, any other is refused.
# Beside it, .<backup name>.mark says who made the directory and how the run ended (one line:
# "bkb-mark 2 <run> <name> <schedule | -> <started> <running | ok | disk_full> <exit | -> <ended | ->");
# prune.sh removes only directories whose mark names its schedule.
#
# Files are copied in batches (BKB_BATCH_FILES, default 5000) with one tar pipe, hashed with one
# sha256sum per side and described with one stat; the records are joined (safe names) or pasted
# (unsafe names, with Base64 tokens) without a loop per file and appended to .<name>.manifest
# only after the batch verified. A batch with any error or count mismatch (tar's "file changed
# as we read it" for a log being written, "Cannot stat" for one rotated away) is undone and
# bisected: each half is copied as a batch of its own, recursively, and only a failed part of 8
# files or fewer is copied file by file to find each file's reason. Every record goes into the
# manifest; the log carries its page 0 (pages of at most BKB_PAGE_BYTES, default 3000000) and
# read.sh prints the others.
# Exit codes: 0 ok or no files, 1 internal error, 2 bad arguments, 3 directory missing or not a
# directory, 4 permission denied, 5 backup directory already exists, 6 some files failed to copy,
# 8 the disk filled up (status disk_full: every matched file without a record was not copied).

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
resumed=0
bkb_trailer() {
    bkb_emit "@bkb 2 end $bkb_run $1 found=$found files=$files pages=$pages listed=$listed warnings=$bkb_warnings resumed=$resumed"
}

# Sets reason/detail for a failed copy from the tool's message $1.
bkb_failed() {
    case $1 in
    *"No space left on device"* | *"Disk quota exceeded"*) reason=disk_full ;;
    *"Permission denied"* | *"Operation not permitted"*) reason=permission_denied ;;
    *"Read-only file system"*) reason=read_only ;;
    *) reason=io_error ;;
    esac
    detail=$(bkb_b64 "${1:0:200}")
}

# Copies $1 to $2 on its own; sets rec to the record's fields after the path token and reason
# (empty when copied). Any copy that is not vouched for is removed.
bkb_copy() {
    local src=$1 dst=$2 parent=${2%/*} err out sha
    reason= detail=-
    if [ ! -e "$src" ] && [ ! -L "$src" ]; then
        rm -f -- "$dst"
        reason=vanished
        return
    fi
    if [ -L "$src" ] || [ ! -f "$src" ]; then
        rm -f -- "$dst"
        reason=not_regular
        return
    fi
    err=$(mkdir -p -- "$parent" 2>&1) || {
        bkb_failed "$err"
        return
    }
    if ! err=$(cp -P --preserve=mode,timestamps -- "$src" "$dst" 2>&1); then
        rm -f -- "$dst"
        if [ ! -e "$src" ] && [ ! -L "$src" ]; then
            reason=vanished
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
    out=$({ sha256sum <"$dst" && stat -c '%s %Y %f' -- "$dst"; } 2>&1) || {
        rm -f -- "$dst"
        bkb_failed "$out"
        return
    }
    sha=${out%% *}
    rec="${out#*$'\n'} $sha"
    # The copy is kept either way; a different or missing source hash says "changed".
    out=$({ sha256sum <"$src"; } 2>/dev/null) || out=-
    rec+=" ${out%% *}"
}

# Copies the files "./<rel>" paths[$1] .. paths[$1+$2-1] one by one, with tokens in toks; appends
# their records to $recs.
bkb_one_by_one() {
    local i end=$(($1 + $2))
    for ((i = $1; i < end; i++)); do
        if [ "$disk_full" = 1 ]; then
            printf "X %s disk_full $skipped\n" "${toks[@]:i:end-i}"
            break
        fi
        bkb_copy "${paths[i]}" "$bdir/${paths[i]#./}"
        case $reason in
        '') printf 'C %s %s\n' "${toks[i]}" "$rec" ;;
        vanished | not_regular) printf 'X %s %s -\n' "${toks[i]}" "$reason" ;;
        *)
            printf 'X %s %s %s\n' "${toks[i]}" "$reason" "$detail"
            any_failed=1
            [ "$reason" = disk_full ] && disk_full=1
            ;;
        esac
    done >>"$recs"
}

# Marks the batch in flight: the manifest's size before it, then its NUL-separated paths.
bkb_inflight() {
    { printf '%s\0' "$msize" >"$inflight" && printf '%s\0' "${paths[@]}" >>"$inflight"; } \
        2>"$bkb_tmp/w.err" || bkb_store_failed "cannot mark the batch in flight"
}

# Writes the mark of this backup in one rename: $1 running, ok or disk_full, $2 the exit code and
# $3 the end time (epoch seconds), "-" while it runs.
bkb_mark() {
    printf "bkb-mark 2 %s %s %s %s %s %s %s\n" "$bkb_run" "$name" "$sched" "$mark_started" "$1" "$2" "$3" \
        >"$markf.tmp" && mv -f -- "$markf.tmp" "$markf"
}

# Appends $recs to the manifest, then clears the in-flight mark.
bkb_commit() {
    local n c
    read -r n c < <(wc -lc <"$recs")
    cat -- "$recs" 2>"$bkb_tmp/w.err" >>"$manifest" ||
        bkb_store_failed "cannot append to the manifest"
    files=$((files + n)) msize=$((msize + c))
    rm -f -- "$inflight"
    : >"$recs"
    # Progress while the run goes on: the records the manifest holds so far.
    bkb_emit "P $files"
}

# Ends the run when the backup's own files (manifest, index, marks) cannot be written, $1 saying
# which; the tool's message is in $bkb_tmp/w.err. On a full disk the batch in flight is undone
# (its copies have no record) and the run ends disk_full: the manifest vouches for every copy
# left, and no other matched file was copied. Anything else is a script error.
bkb_store_failed() {
    local err
    err="$1: $(head -c 300 "$bkb_tmp/w.err" 2>/dev/null)"
    case $err in
    *"No space left on device"* | *"Disk quota exceeded"*) ;;
    *) bkb_finish script_error 1 "$err" ;;
    esac
    if [ -f "$inflight" ]; then
        bkb_settle "$name" 2>/dev/null || bkb_finish script_error 1 "$err; cannot undo the batch in flight"
    fi
    # Pages of what the manifest holds; the index is kept only if there is room for it.
    bkb_paginate "$name" "$page_bytes" 1 2>/dev/null
    files=$bkb_files pages=${#bkb_pages[@]}
    if [ -s "$manifest" ]; then
        read -r listed page0 <<<"${bkb_pages[0]}"
        head -c "$page0" -- "$manifest"
    else
        pages=0
    fi
    bkb_emit_warnings
    [ -f "$markf" ] && bkb_mark disk_full 8 "$(printf "%(%s)T" -1)" 2>/dev/null
    bkb_finish disk_full 8 "$err"
}

# Copies the safe batch listed in $1 ("./<rel>" lines, sorted; $2 of them) with one tar pipe,
# checks it and writes its records to $bkb_tmp/brecs; returns non-zero when it failed. The
# archive holds no directories: tar creates the missing parents with the umask's mode, so a
# source directory's mode (0555, 0700) never reaches the backup tree.
bkb_batch() {
    local list=$1 t=$bkb_tmp n c
    local -a st
    tar --no-recursion -cf - -T "$list" 2>"$t/c.err" |
        (cd -- "$bdir" && tar --no-same-owner -xpf - 2>"$t/x.err")
    st=("${PIPESTATUS[@]}")
    [ "${st[*]}" = "0 0" ] && [ ! -s "$t/c.err" ] && [ ! -s "$t/x.err" ] || return 1
    xargs -d '\n' sha256sum -- <"$list" >"$t/ss" 2>/dev/null &
    (cd -- "$bdir" && xargs -d '\n' sha256sum -- <"$list" >"$t/cs" 2>"$t/cs.err" &&
        xargs -d '\n' stat -c '%n C %s %Y %f' -- <"$list" >"$t/st" 2>>"$t/cs.err") || {
        wait
        return 1
    }
    wait
    [ ! -s "$t/cs.err" ] || return 1
    join -1 1 -2 2 -o 1.1,1.2,1.3,1.4,1.5,2.1 "$t/st" "$t/cs" |
        join -1 1 -2 2 -a 1 -e - -o 1.2,0,1.3,1.4,1.5,1.6,2.1 - "$t/ss" >"$t/brecs"
    read -r n c < <(wc -lc <"$t/brecs")
    [ "$n" -eq "$2" ]
}

# Sets toks to the Base64 path tokens of the array paths ("./<rel>"): one base64 process for the
# whole list, each <rel> padded with 0-2 leading "./" to a multiple of 3 bytes (as
# bkb_encode_paths), its output wrapped into lines read by mapfile and cut apart in a small window,
# so no read is one byte at a time and no slice copies the whole list.
bkb_tokens() {
    local p pre s= j=0
    local -a lens=() blk
    toks=()
    for p in "${paths[@]#./}"; do
        case $((${#p} % 3)) in 0) pre= ;; 1) pre=./ ;; *) pre=././ ;; esac
        printf '%s%s' "$pre" "$p"
        lens+=($(((${#pre} + ${#p}) / 3 * 4)))
    done >"$bkb_tmp/paths" || return 1
    base64 -w 4096 <"$bkb_tmp/paths" >"$bkb_tmp/paths.b64" || return 1
    mapfile -t blk <"$bkb_tmp/paths.b64"
    for p in "${lens[@]}"; do
        while ((${#s} < p)); do
            ((j < ${#blk[@]})) || return 1
            s+=${blk[j]}
            j=$((j + 1))
        done
        toks+=("${s:0:p}")
        s=${s:p}
    done
}

# Copies the batch of unsafe names listed NUL-separated in $1 ($2 of them, their tokens toks[$3]
# onwards) the way bkb_batch copies a safe one, and writes its records to $bkb_tmp/brecs;
# returns non-zero when it failed. sha256sum and stat print one line per file in input order (a
# name with a backslash or newline makes sha256sum start its line with "\"), so the records are
# pasted together from the tokens, the stat lines and the 64 hex digits of each hash.
bkb_ubatch() {
    local list=$1 t=$bkb_tmp a b c
    local -a st
    tar --null --no-unquote --no-recursion -cf - -T "$list" 2>"$t/c.err" |
        (cd -- "$bdir" && tar --no-same-owner -xpf - 2>"$t/x.err")
    st=("${PIPESTATUS[@]}")
    [ "${st[*]}" = "0 0" ] && [ ! -s "$t/c.err" ] && [ ! -s "$t/x.err" ] || return 1
    xargs -0 -r sha256sum -- <"$list" >"$t/ss" 2>/dev/null &
    (cd -- "$bdir" && xargs -0 -r sha256sum -- <"$list" >"$t/cs" 2>"$t/cs.err" &&
        xargs -0 -r stat --printf '%s %Y %f\n' -- <"$list" >"$t/st" 2>>"$t/cs.err") || {
        wait
        return 1
    }
    wait
    [ ! -s "$t/cs.err" ] || return 1
    # A source that could not be hashed again leaves a line out: redone file by file.
    { read -r a _ && read -r b _ && read -r c _; } < <(wc -l -- "$t/st" "$t/cs" "$t/ss")
    [ "$a $b $c" = "$2 $2 $2" ] || return 1
    printf 'C %s\n' "${toks[@]:$3:$2}" >"$t/ctok"
    cut -c 1-65 -- "$t/cs" | tr -d '\\ ' >"$t/cs64"
    cut -c 1-65 -- "$t/ss" | tr -d '\\ ' >"$t/ss64"
    paste -d ' ' -- "$t/ctok" "$t/st" "$t/cs64" "$t/ss64" >"$t/brecs"
}

# Copies the files paths[$1] .. paths[$1+$2-1] (tokens in toks; $3 s: safe names, u: unsafe) as
# one batch and appends its records to $recs; a batch that fails is undone and bisected
# (bkb_halves), so one bad file costs a few small batches, not the whole batch file by file.
# Once the disk is full the files are recorded disk_full without an attempt.
bkb_part() {
    local list=$bkb_tmp/part
    if [ "$disk_full" = 1 ]; then
        printf "X %s disk_full $skipped\n" "${toks[@]:$1:$2}" >>"$recs"
        return
    fi
    if [ "$3" = s ]; then
        printf '%s\n' "${paths[@]:$1:$2}" >"$list" || bkb_finish script_error 1 "cannot write the batch list"
        bkb_batch "$list" "$2"
    else
        printf '%s\0' "${paths[@]:$1:$2}" >"$list" || bkb_finish script_error 1 "cannot write the batch list"
        bkb_ubatch "$list" "$2" "$1"
    fi && {
        cat -- "$bkb_tmp/brecs" >>"$recs" || bkb_finish script_error 1 "cannot keep the batch records"
        return
    }
    bkb_undo "$list" "$3"
    bkb_halves "$@"
}

# Removes the copies of the files listed in $1 ($2 s: lines, u: NUL-separated).
bkb_undo() {
    local -a sep=(-d '\n')
    [ "$2" = u ] && sep=(-0)
    (cd -- "$bdir" && xargs "${sep[@]}" -r rm -f -- <"$1")
}

# Redoes a failed batch (bkb_part's arguments, its copies undone): 8 files or fewer one by one,
# more as two halves, each a batch of its own.
bkb_halves() {
    local h=$(($2 / 2))
    if (($2 <= 8)); then
        bkb_one_by_one "$1" "$2"
        return
    fi
    bkb_part "$1" "$h" "$3"
    bkb_part $(($1 + h)) $(($2 - h)) "$3"
}

# Backs up the unsafe names of the array paths as one batch (bisected when it fails), or records
# them disk_full once the disk is full; commits their records.
bkb_unsafe_batch() {
    local list=$bkb_tmp/ulist
    bkb_tokens || bkb_finish script_error 1 "cannot encode paths"
    if [ "$disk_full" = 0 ]; then
        printf '%s\0' "${paths[@]}" >"$list" || bkb_finish script_error 1 "cannot write the batch list"
        { printf '%s\0' "$msize" && cat -- "$list"; } 2>"$bkb_tmp/w.err" >"$inflight" &&
            bkb_ubatch "$list" ${#paths[@]} 0 && cat -- "$bkb_tmp/brecs" >>"$recs" || {
            : >"$recs"
            bkb_undo "$list" u
            bkb_inflight
            bkb_halves 0 ${#paths[@]} u
        }
    else
        printf "X %s disk_full $skipped\n" "${toks[@]}" >>"$recs"
    fi
    bkb_commit
}


bkb_run=-
if ! bkb_load_args "$@" || [ ${#bkb_argv[@]} -lt 4 ]; then
    bkb_emit "@bkb 2 begin backup - - -"
    bkb_finish script_error 2 "arguments are not protocol 2 backup arguments"
fi
name=${bkb_argv[3]}
if [[ ! ${bkb_argv[1]} =~ ^[A-Za-z0-9_-]{8,64}$ || ! $name =~ ^backup_[0-9]{8}_[0-9]{6}_[0-9a-z]{4,32}$ ]]; then
    bkb_emit "@bkb 2 begin backup - - -"
    bkb_finish script_error 2 "bad run id or backup name"
fi
bkb_run=${bkb_argv[1]}
bkb_emit "@bkb 2 begin backup $bkb_run ${bkb_raw[2]} $name"
dir=${bkb_argv[2]}
bkb_suffixes=("${bkb_argv[@]:4}")
sched=-
if [[ ${bkb_argv[4]-} == schedule=* ]]; then
    sched=${bkb_argv[4]#schedule=}
    bkb_suffixes=("${bkb_argv[@]:5}")
    [[ $sched =~ ^[A-Za-z0-9_-]{1,64}$ ]] || bkb_finish script_error 2 "bad schedule id"
fi
batch_files=${BKB_BATCH_FILES:-5000}
page_bytes=${BKB_PAGE_BYTES:-3000000}
bkb_valid_dir "$dir" || bkb_finish script_error 2 "bad directory"
bkb_valid_suffixes || bkb_finish script_error 2 "bad suffix"
[[ $batch_files =~ ^[1-9][0-9]{0,6}$ && $page_bytes =~ ^[1-9][0-9]{3,8}$ ]] ||
    bkb_finish script_error 2 "bad BKB_BATCH_FILES or BKB_PAGE_BYTES"

bkb_enter_dir "$dir"
bkb_find 0
read -r found < <(wc -l <"$bkb_tmp/safe")
read -r n < <(tr -cd '\000' <"$bkb_tmp/unsafe" | wc -c)
found=$((found + n))
if [ "$found" -eq 0 ]; then
    bkb_emit_warnings
    bkb_finish no_files 0
fi
cut -d ' ' -f 4 "$bkb_tmp/safe" | sort >"$bkb_tmp/paths.all"

# Claim the backup directory: the run marker first (O_EXCL), then the directory itself.
if [ -L backup ] || { [ -e backup ] && [ ! -d backup ]; }; then
    bkb_finish script_error 1 "$dir/backup is not a directory"
fi
err=$(mkdir -p -- backup 2>&1) || case $err in
*"Permission denied"*) bkb_finish permission_denied 4 "$err" ;;
*) bkb_finish script_error 1 "$err" ;;
esac
marker=backup/.$name.run
bdir=backup/$name
manifest=backup/.$name.manifest
index=backup/.$name.index
inflight=backup/.$name.inflight
markf=backup/.$name.mark
if err=$( (set -C && printf '%s\n' "$bkb_run" >"$marker") 2>&1); then
    if ! err=$(mkdir -- "$bdir" 2>&1); then
        rm -f -- "$marker"
        [ -e "$bdir" ] && bkb_finish backup_exists 5 "$err"
        bkb_finish script_error 1 "$err"
    fi
elif [ -f "$marker" ] && [ ! -L "$marker" ] && [ "$(<"$marker")" = "$bkb_run" ]; then
    resumed=1
    err=$(mkdir -p -- "$bdir" 2>&1) || bkb_finish script_error 1 "$err"
    # Settle what a dead run left in flight; every file is copied again below.
    bkb_settle "$name" || bkb_finish script_error 1 "cannot settle the batch a dead run left"
elif [ -e "$marker" ] || [ -L "$marker" ]; then
    bkb_finish backup_exists 5 "backup directory belongs to another run"
else
    case $err in
    *"Permission denied"*) bkb_finish permission_denied 4 "$err" ;;
    *) bkb_finish script_error 1 "$err" ;;
    esac
fi
# This process and its start time (field 22 of /proc/<pid>/stat), so read.sh can tell it from a
# reused PID.
started=-
if read -r stat 2>/dev/null <"/proc/$$/stat"; then
    read -r -a f <<<"${stat##*) }"
    started=${f[19]:--}
fi
printf -v mark_started "%(%s)T" -1
msize=0
{ printf '%s %s\n' "$$" "$started" >"backup/.$name.pid" && bkb_cleanup+=("backup/.$name.pid") &&
    bkb_mark running - - &&
    printf 'bkb-manifest 2 %s found=%s files=0 complete=0\n' "$bkb_run" "$found" >"$index" &&
    : >"$manifest"; } 2>"$bkb_tmp/w.err" || bkb_store_failed "cannot write the manifest"

# Once the disk is full, later files are reported disk_full without filling it again.
any_failed=0
disk_full=0
skipped=$(bkb_b64 "not attempted: an earlier copy found the disk full")
recs=$bkb_tmp/recs
: >"$recs"
split -l "$batch_files" -a 6 "$bkb_tmp/paths.all" "$bkb_tmp/batch." ||
    bkb_finish script_error 1 "cannot split the file list"
for list in "$bkb_tmp"/batch.*; do
    [ -f "$list" ] || continue
    if [ "$disk_full" = 0 ]; then
        # The in-flight mark without a loop: the manifest size, then the paths NUL-terminated.
        # (A full disk refusing it sends the batch down the bisecting path, which ends the run
        # disk_full when its own mark is refused.)
        { printf '%s\0' "$msize" && tr '\n' '\0' <"$list"; } 2>"$bkb_tmp/w.err" >"$inflight" &&
            read -r n < <(wc -l <"$list") && bkb_batch "$list" "$n" &&
            cat -- "$bkb_tmp/brecs" >>"$recs" || {
            : >"$recs"
            bkb_undo "$list" s
            mapfile -t paths <"$list"
            bkb_inflight
            toks=("${paths[@]}")
            bkb_halves 0 ${#paths[@]} s
        }
    else
        mapfile -t paths <"$list"
        printf "X %s disk_full $skipped\n" "${paths[@]}" >>"$recs"
    fi
    bkb_commit
done
# Unsafe names (Base64 path tokens) in path order, in batches of the same size.
u=$bkb_tmp/unsafe.sorted
sort -z -t ' ' -k3 -o "$u" -- "$bkb_tmp/unsafe" || bkb_finish script_error 1 "cannot sort the file list"
read -r n < <(tr -cd '\n' <"$u" | wc -c)
if [ "$n" = 0 ]; then
    # No name holds a newline: the list is split into batches of lines, each read by mapfile
    # (bash 4.2 reads NUL-terminated input one byte per syscall).
    tr '\0' '\n' <"$u" | cut -d ' ' -f 3- | split -l "$batch_files" -a 6 - "$bkb_tmp/ubatch." ||
        bkb_finish script_error 1 "cannot split the file list"
    for list in "$bkb_tmp"/ubatch.*; do
        [ -f "$list" ] || continue
        mapfile -t paths <"$list"
        bkb_unsafe_batch
    done
else
    paths=()
    while IFS= read -r -d '' -u 7 rec; do
        rec=${rec#* }
        paths+=("${rec#* }")
        if [ ${#paths[@]} -ge "$batch_files" ]; then
            bkb_unsafe_batch
            paths=()
        fi
    done 7<"$u"
    [ ${#paths[@]} -eq 0 ] || bkb_unsafe_batch
fi

# A copy that is not a regular file (the source was swapped mid-run) is never left behind.
find "$bdir" -mindepth 1 ! -type d ! -type f -delete 2>/dev/null
# Pages of whole lines; the index is replaced in one rename.
# A full disk may refuse the index: read.sh pages the manifest itself then.
bkb_paginate "$name" "$page_bytes" 1 2>/dev/null || [ -s "$bkb_tmp/pages" ] || [ ! -s "$manifest" ] ||
    bkb_finish script_error 1 "cannot page the manifest"
files=$bkb_files pages=${#bkb_pages[@]}
read -r listed page0 <<<"${bkb_pages[0]}"
head -c "$page0" -- "$manifest"
bkb_emit_warnings
code=0
[ "$any_failed" = 1 ] && code=6
bkb_mark ok "$code" "$(printf "%(%s)T" -1)" 2>/dev/null
bkb_finish ok "$code"
