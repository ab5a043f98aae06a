#!/usr/bin/env bash
# Walks through the product against the running demo stack (scripts/demo.sh runs it once the
# stack is up; run it again any time): search log files on three hosts, back them up, follow
# the backup to its end, list its records and open the JOB execution page they link to; then
# create a schedule firing every 10 seconds and show its runs and its retention at work.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

backup_addr=${BACKUP_SERVICE_ADDR:-127.0.0.1:50052}
token=${DEMO_TOKEN:-demo-token-0123456789abcdef}
call() {
    "$root/scripts/buf.sh" curl --protocol grpc --http2-prior-knowledge \
        -H "authorization: Bearer $token" -H "x-bk-username: admin" \
        "http://$backup_addr/backup.v1.BackupService/$1" -d "$2"
}
field() { sed -n "s/^ *\"$1\": \"\\{0,1\\}\\([^\",]*\\)\"\\{0,1\\},\\{0,1\\}$/\\1/p" | head -n 1; }

hosts='[1001, 1004, 1009]'
echo "== SearchFiles: *.log under /project on hosts $hosts (1004 has an unreadable subdirectory, 1009's agent is down)"
call SearchFiles "{\"bk_biz_id\": 3, \"bk_host_ids\": $hosts, \"bk_file_dir\": \"/project\", \"bk_file_suffix\": \"log\"}" |
    grep -E '"(bkHostId|status|reason|fileCount|totalSizeBytes|unreadableCount|totalFileCount|jobUrl)"'

echo
echo "== StartBackup of the same files"
started=$(call StartBackup "{\"bk_biz_id\": 3, \"bk_host_ids\": $hosts, \"bk_file_dir\": \"/project\", \"bk_file_suffix\": \"log\"}")
id=$(echo "$started" | field backupId)
echo "backup $id queued"

echo
echo "== WatchBackup until it ends"
call WatchBackup "{\"backup_id\": \"$id\"}" | grep -E '"(seq|state|phase|bkHostId|status|reason|filesCopied|statusMessage)"' | tail -n 25

echo
echo "== ListBackupRecords of backup $id (first 3)"
records=$(call ListBackupRecords "{\"backup_id\": \"$id\", \"page_size\": 3}")
echo "$records" | grep -E '"(bkHostId|sourcePath|backupPath|sha256|bkFileOperator|bkJobLink)"'
link=$(echo "$records" | field bkJobLink)
echo
echo "== The records' JOB link: $link"
code=$(curl -s -o /dev/null -w '%{http_code}' "$link" || true)
echo "GET $link -> HTTP $code"
[ "$code" = 200 ] || die "the JOB link did not open"

schedule_call() {
    "$root/scripts/buf.sh" curl --protocol grpc --http2-prior-knowledge \
        -H "authorization: Bearer $token" -H "x-bk-username: admin" \
        "http://$backup_addr/backup.v1.ScheduleService/$1" -d "$2"
}
name=demo-every-10s
echo
echo "== PreviewSchedule: when '*/10 * * * * *' fires on Shanghai's clock"
schedule_call PreviewSchedule '{"spec": {"cron": "*/10 * * * * *", "time_zone": "Asia/Shanghai"}, "count": 3}' |
    grep -E '"localTime"'
# A walkthrough run again replaces the schedule an earlier run left.
old=$(schedule_call ListSchedules "{\"bk_biz_id\": 3, \"name_contains\": \"$name\"}" | field scheduleId)
if [ -n "$old" ]; then
    schedule_call DeleteSchedule "{\"schedule_id\": \"$old\"}" >/dev/null
fi
echo
echo "== CreateSchedule '$name': /data/logs/*.log of both gamesvr modules every 10 s, keep the 3 newest"
created=$(schedule_call CreateSchedule "{\"schedule\": {\"name\": \"$name\", \"bk_biz_id\": 3,
    \"selector\": {\"bk_module_ids\": [3001, 3003]}, \"bk_file_dir\": \"/data/logs\", \"bk_file_suffix\": \"log\",
    \"spec\": {\"cron\": \"*/10 * * * * *\", \"time_zone\": \"Asia/Shanghai\"},
    \"retention\": {\"keep_last\": 3}}}")
sid=$(echo "$created" | field scheduleId)
echo "$created" | grep -E '"(scheduleId|state|nextFireTime|etag)"'
echo "waiting 45 s for four fires and their prunes (host 1009's agent is down, so each run is PARTIAL)..."
sleep 45
echo
echo "== ListScheduleRuns of $sid (newest first): each fire's decision, backup and retention"
schedule_call ListScheduleRuns "{\"schedule_id\": \"$sid\", \"page_size\": 5}" |
    grep -E '"(scheduledTime|decision|backupId|backupState|resolvedBkHostIds|state|pruned)"|^ +"[0-9]+",?$'
echo
echo "== ListBackups of the schedule: the oldest backup's directories were pruned (pruneTime), its records kept"
call ListBackups "{\"schedule_id\": \"$sid\", \"page_size\": 5}" |
    grep -E '"(backupId|state|bkBackupName|pruneTime)"' | head -n 30
echo
echo "The schedule keeps firing every 10 s; pause it with"
echo "  scripts/buf.sh curl --protocol grpc --http2-prior-knowledge -H 'authorization: Bearer $token' -H 'x-bk-username: admin' \\"
echo "      http://$backup_addr/backup.v1.ScheduleService/PauseSchedule -d '{\"schedule_id\": \"$sid\", \"note\": \"enough\"}'"
