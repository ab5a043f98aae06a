#!/usr/bin/env bash
# Starts the demo stack in the foreground: a private Postgres, bk-sim with the demo world,
# job-gateway and backup-service, with defaults that need no editing. Prints how to reach
# each with backupctl and `buf curl`, and the web console's URL, then walks through the demo
# world with backupctl (scripts/demo-walkthrough.sh): hosts, a search, a backup followed live, its
# records and their JOB links, a retry, a cancel and a schedule. Ctrl-C (or SIGTERM) stops the
# services; Postgres keeps running
# (`scripts/pg.sh stop` stops it).
#
# Ports (override with the environment): BK_SIM_ADDR 127.0.0.1:8600,
# JOB_GATEWAY_ADDR 127.0.0.1:50051, BACKUP_SERVICE_ADDR 127.0.0.1:50052.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

sim_addr=${BK_SIM_ADDR:-127.0.0.1:8600}
gw_addr=${JOB_GATEWAY_ADDR:-127.0.0.1:50051}
backup_addr=${BACKUP_SERVICE_ADDR:-127.0.0.1:50052}
logs=$root/.dev/logs
mkdir -p "$logs"

bash scripts/ensure-tools.sh
db_line=$(bash scripts/pg.sh start)
database_url=${db_line#DATABASE_URL=}

# backup-service embeds the console's built files: build them first.
bash scripts/console.sh build
log "building (debug)"
cargo build --workspace --bins --locked >&2
bin=$root/target/debug

pids=()
stop_all() {
    trap - INT TERM EXIT
    log "stopping services"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop_all INT TERM EXIT

# wait_tcp NAME ADDR: wait up to 30 s for ADDR to accept connections.
wait_tcp() {
    local host=${2%:*} port=${2##*:}
    for _ in $(seq 300); do
        (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && return
        sleep 0.1
    done
    die "$1 did not start on $2: see $logs/$1.log"
}

# The demo world's app credentials (bk-sim/worlds/demo.toml) and the bearer token callers of
# both services present in the demo.
app_code=bk-log-backup
app_secret=demo-secret
token=${DEMO_TOKEN:-demo-token-0123456789abcdef}

"$bin/bk-sim" --world bk-sim/worlds/demo.toml --listen "$sim_addr" >"$logs/bk-sim.log" 2>&1 &
pids+=($!)
wait_tcp bk-sim "$sim_addr"

JOB_GATEWAY__LISTEN_ADDR=$gw_addr \
    JOB_GATEWAY__BK__ESB_URL=http://$sim_addr \
    JOB_GATEWAY__BK__APIGW_URL=http://$sim_addr \
    JOB_GATEWAY__BK__JOB_WEB_URL=http://$sim_addr \
    JOB_GATEWAY__BK__LOGIN_URL=http://$backup_addr/login \
    JOB_GATEWAY__BK__APP_CODE=$app_code \
    JOB_GATEWAY__BK__APP_SECRET=$app_secret \
    JOB_GATEWAY__AUTH__TOKENS=$token \
    JOB_GATEWAY__METRICS_ADDR=127.0.0.1:9101 \
    "$bin/job-gateway" >"$logs/job-gateway.log" 2>&1 &
pids+=($!)
wait_tcp job-gateway "$gw_addr"

BACKUP_SERVICE__LISTEN_ADDR=$backup_addr \
    BACKUP_SERVICE__DATABASE__URL=$database_url \
    BACKUP_SERVICE__JOB_GATEWAY__URL=http://$gw_addr \
    BACKUP_SERVICE__JOB_GATEWAY__TOKEN=$token \
    BACKUP_SERVICE__AUTH__TOKENS=$token \
    BACKUP_SERVICE__METRICS_ADDR=127.0.0.1:9102 \
    "$bin/backup-service" >"$logs/backup-service.log" 2>&1 &
pids+=($!)
wait_tcp backup-service "$backup_addr"

buf=scripts/buf.sh
cat <<MSG

Demo stack is up (logs in .dev/logs/):
  bk-sim          http://$sim_addr            BlueKing simulator (JOB pages at http://$sim_addr/api_execute/<id>)
  job-gateway     $gw_addr             jobgateway.v1.CmdbService, jobgateway.v1.JobService, jobgateway.v1.LoginService
  backup-service  $backup_addr             backup.v1.BackupService, backup.v1.ScheduleService, backup.v1.HostService, backup.v1.AuditService
  web console     http://$backup_addr/     grpc-web on the same port; log in with a demo user's bk_token
                                              (tkn-admin: every business, tkn-alice: business 3, tkn-bob: business 5)
  postgres        $database_url
  metrics         http://127.0.0.1:9101/metrics (job-gateway), http://127.0.0.1:9102/metrics (backup-service)

Services authenticate with: authorization: Bearer $token (health and reflection are open).
People authenticate with their BlueKing login token instead: x-bk-token: <bk_token> (or the bk_token cookie).
BlueKing users and their login tokens (bk_token) in the demo world: admin tkn-admin (all businesses),
alice tkn-alice (business 3), bob tkn-bob (business 5); each sees and acts on their businesses only.
Expire a login with
  curl -X POST http://$sim_addr/_sim/login/tokens/tkn-bob/expire
Try backupctl (target/debug/backupctl; cargo install --path backupctl puts it on PATH):
  export BACKUPCTL_SERVER=http://$backup_addr BACKUPCTL_TOKEN=$token BACKUPCTL_USER=admin
  target/debug/backupctl hosts --biz 3
or raw gRPC:
  $buf curl --protocol grpc --http2-prior-knowledge http://$gw_addr --list-services
  $buf curl --protocol grpc --http2-prior-knowledge http://$backup_addr --list-services
  $buf curl --protocol grpc --http2-prior-knowledge http://$backup_addr/grpc.health.v1.Health/Check
  $buf curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer $token" -H "x-bk-username: admin" \
      http://$backup_addr/backup.v1.BackupService/ListBackupRecords -d '{"bk_biz_id": 3}'
  $buf curl --protocol grpc --http2-prior-knowledge -H "x-bk-token: tkn-bob" \
      http://$backup_addr/backup.v1.BackupService/ListBackupRecords -d '{"bk_biz_id": 3}'   # bob: PERMISSION_DENIED
  $buf curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer $token" \
      http://$gw_addr/jobgateway.v1.LoginService/VerifyToken -d '{"bk_token": "tkn-bob"}'

MSG
bash scripts/demo-walkthrough.sh || log "the walkthrough failed: see $logs/"
echo
echo "The web console: http://$backup_addr/ (log in with tkn-alice, business 3)"
echo "The stack keeps running; scripts/demo-walkthrough.sh runs the walkthrough again. Ctrl-C stops the services."
wait -n "${pids[@]}" || true
log "a service exited: see $logs/"
