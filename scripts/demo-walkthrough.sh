#!/usr/bin/env bash
# Walks through the product against the running demo stack with backupctl (scripts/demo.sh runs
# it once the stack is up; run it again any time): the demo business's topology and hosts,
# a search, a backup of both gamesvr modules followed live (one bar per host; a few thousand
# extra log files make it long enough to watch), its records and the JOB page they link to,
# a retry once host 1009's agent is back and a cancel; then a schedule firing every 10 seconds,
# its runs and its retention at work, and pausing it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

backup_addr=${BACKUP_SERVICE_ADDR:-127.0.0.1:50052}
sim_addr=${BK_SIM_ADDR:-127.0.0.1:8600}
export BACKUPCTL_SERVER=http://$backup_addr
export BACKUPCTL_TOKEN=${DEMO_TOKEN:-demo-token-0123456789abcdef}
export BACKUPCTL_USER=admin
ctl=${BACKUPCTL:-$root/target/debug/backupctl}
[ -x "$ctl" ] || die "no backupctl at $ctl: cargo build -p backupctl (or set BACKUPCTL)"
# step TITLE ARG...: prints the title and the command line (an argument with spaces or a glob
# character in single quotes).
step() {
    printf '\n== %s\n$ backupctl' "$1"
    local a
    for a in "${@:2}"; do
        case $a in
            *[[:space:]*?]*) printf " '%s'" "$a" ;;
            *) printf ' %s' "$a" ;;
        esac
    done
    printf '\n'
}
run() { step "$@"; "$ctl" "${@:2}"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The demo world's hosts keep their trees on disk: a backup run again finds its host 1009 down
# and every host as the world made it, plus the bulk files below.
sim() { curl -fsS -X "$1" "http://$sim_addr/_sim/$2" -H 'content-type: application/json' ${3:+-d "$3"}; }
sim PUT hosts/1009/agent '{"alive": false}'

run "The businesses you may see" businesses
run "Business 3's sets and modules" topology --biz 3
run "Its hosts and their agents (1009's is down)" hosts --biz 3
run "Hosts by id, name and IP: *.log under /project (1004 has an unreadable subdirectory)" \
    search --biz 3 --hosts 1001,gs2-game-01,10.0.1.19 --dir /project --suffix log

# 6,000 more log files on each running gamesvr host: two batches each, so each bar moves.
for host in 1001 1002 1004 1005; do
    dir=$(sim GET "hosts/$host" | sed -n 's/.*"root": *"\([^"]*\)".*/\1/p')/data/logs/bulk
    mkdir -p "$dir"
    (cd "$dir" && for i in $(seq -w 1 6000); do printf 'bulk line %s\n' "$i" >"bulk_$i.log"; done)
done

step "Back up /data/logs/*.log of every gamesvr host, following each host live (1009 fails: PARTIAL, exit 3)" \
    backup start --biz 3 --module gamesvr --dir /data/logs --suffix log --wait
code=0
"$ctl" backup start --biz 3 --module gamesvr --dir /data/logs --suffix log --wait >"$tmp/start" || code=$?
cat "$tmp/start"
[ "$code" = 3 ] || die "expected a PARTIAL backup (exit 3), got exit $code"
id=$(sed -n 's/^backup: *//p' "$tmp/start")

run "Its first records, with their JOB links" records list --backup "$id" --limit 5
link=$("$ctl" records list --backup "$id" --limit 1 -o csv | sed -n '2p' | cut -d, -f18)
printf "\n== The records' JOB link opens the JOB execution page\n"
code=$(curl -s -o /dev/null -w '%{http_code}' "$link" || true)
echo "GET $link -> HTTP $code"
[ "$code" = 200 ] || die "the JOB link did not open"

sim PUT hosts/1009/agent '{"alive": true}'
run "1009's agent is back: retry the host that failed" backup retry "$id" --wait
sim PUT hosts/1009/agent '{"alive": false}'

"$ctl" backup start --biz 3 --all-hosts --dir /data/logs --no-wait >"$tmp/queued"
queued=$(sed -n 's/^backup: *//p' "$tmp/queued")
run "Cancel a backup just queued" backup cancel "$queued"
run "The backups of business 3" backup list --biz 3 --limit 5

name=demo-every-10s
run "When '*/10 * * * * *' fires on Shanghai's clock" \
    schedule preview --cron '*/10 * * * * *' --tz Asia/Shanghai --count 3
# A walkthrough run again replaces the schedule an earlier run left.
old=$("$ctl" schedule list --biz 3 --name "$name" --state active,paused -o csv | sed -n '2p' | cut -d, -f1)
[ -z "$old" ] || "$ctl" schedule delete "$old" >/dev/null
run "A schedule of /project/*.log on both gamesvr modules every 10 s, keeping the 3 newest backups" \
    schedule create --biz 3 --name "$name" --module gamesvr --dir /project --suffix log \
    --cron '*/10 * * * * *' --tz Asia/Shanghai --keep-last 3
sid=$("$ctl" schedule list --biz 3 --name "$name" -o csv | sed -n '2p' | cut -d, -f1)
echo "waiting 50 s for five fires and their prunes (host 1009's agent is down, so each run is PARTIAL)..."
sleep 50
run "Its runs, newest first: each fire's backup, and retention pruning the oldest (records kept)" \
    schedule runs "$sid" --limit 5
run "Its backups" backup list --schedule "$sid" --limit 5
run "Pause it" schedule pause "$sid" --note "enough for the demo"
