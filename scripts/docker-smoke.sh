#!/usr/bin/env bash
# The images and the compose deployment, end to end (make docker-smoke; not part of make test).
#
# Needs a Docker engine (DOCKER_HOST honoured; on the project's machines:
# eval "$(../shared/tools/docker-engine start)"), docker-compose and python3. It builds
# nextbuy:serve, nextbuy:full and the PostgreSQL image, brings up compose with the sample shop,
# trains through the trainer, checks the API (events reflected, the database down and up again,
# an API restart losing no acknowledged event, a retraining on the stored events), tears
# everything down, prints a summary table and exits non-zero on any failure.
#
# Environment: NEXTBUY_NETWORK_MODE (default host: containers share the host network, so
# free ports are picked for the API and PostgreSQL), SMOKE_KEEP=1 (leave it running),
# SMOKE_CA_BUNDLE (CA bundle pip trusts in the build stage only), SMOKE_WHEELS (folder with a
# CPU torch wheel to use instead of the download index).
set -uo pipefail
cd "$(dirname "$0")/.."

export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-nextbuy-smoke}
export NEXTBUY_NETWORK_MODE=${NEXTBUY_NETWORK_MODE:-host}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
if [ "$NEXTBUY_NETWORK_MODE" = host ]; then
  export NEXTBUY_DB_HOST=127.0.0.1 NEXTBUY_API_HOST=127.0.0.1
  export NEXTBUY_API_PORT=${NEXTBUY_API_PORT:-$(free_port)} NEXTBUY_DB_PORT=${NEXTBUY_DB_PORT:-$(free_port)}
fi
export NEXTBUY_API_PORT=${NEXTBUY_API_PORT:-8000}
export NEXTBUY_API_KEY="smoke-$(date +%s)-key-0123456789" NEXTBUY_DB_PASSWORD="smoke-$RANDOM-pw"
API="http://127.0.0.1:$NEXTBUY_API_PORT"
COMPOSE="docker-compose -f docker-compose.yml"
ROWS=()
FAILED=0

# ------------------------------------------------------------------------------- helpers
step() {  # step NAME COMMAND...: run it, time it, record a row; the rest is skipped after a failure
  local name=$1; shift
  if ((FAILED)); then ROWS+=("$name|skipped|-|"); return 1; fi
  local start=$SECONDS out rc
  out=$("$@" 2>&1); rc=$?
  local took=$((SECONDS - start)) detail
  detail=$(printf '%s' "$out" | tail -n 1 | cut -c1-70)
  if ((rc == 0)); then
    ROWS+=("$name|ok|${took}s|$detail")
  else
    ROWS+=("$name|FAILED|${took}s|$detail"); FAILED=1
    printf '\n--- %s failed (exit %s) ---\n%s\n' "$name" "$rc" "$out" | tail -n 40 >&2
  fi
  return $rc
}

http() {  # http METHOD PATH [JSON]: prints "STATUS BODY"
  python3 - "$API" "$NEXTBUY_API_KEY" "$@" <<'PY'
import sys, urllib.error, urllib.request
api, key, method, path = sys.argv[1:5]
body = sys.argv[5].encode() if len(sys.argv) > 5 else None
req = urllib.request.Request(api + path, data=body, method=method,
                             headers={"X-API-Key": key, "Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=30) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
except OSError as e:
    print(0, e)
PY
}

wait_for() {  # wait_for SECONDS STATUS METHOD PATH [JSON]: until the answer has that status
  local limit=$1 want=$2; shift 2
  local deadline=$((SECONDS + limit)) answer
  while ((SECONDS < deadline)); do
    answer=$(http "$@")
    [ "${answer%% *}" = "$want" ] && { echo "$answer"; return 0; }
    sleep 1
  done
  echo "no $want from $* after ${limit}s; last: ${answer:0:300}"; return 1
}

expect() {  # expect PYTHON_CONDITION ANSWER: the condition on `status` and `body` (JSON) holds
  python3 -c '
import json, sys
status, _, raw = sys.argv[2].partition(" ")
status = int(status)
try:
    body = json.loads(raw)
except ValueError:
    body = raw
ok = eval(sys.argv[1])
print(("ok: " if ok else "unexpected: ") + sys.argv[1] + " | " + raw[:160])
sys.exit(0 if ok else 1)' "$1" "$2"
}

db_healthy() {
  local deadline=$((SECONDS + ${1:-90})) id
  id=$($COMPOSE ps -q db)
  while ((SECONDS < deadline)); do
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null)" = healthy ] && { echo "db healthy"; return 0; }
    sleep 1
  done
  echo "db not healthy after ${1:-90}s"; return 1
}

psql_count() {
  $COMPOSE exec -T db psql -U nextbuy -d nextbuy -tAc \
    "select count(*) from nextbuy_events where event_id like 'smoke-%'" | tr -d '[:space:]'
}

teardown() { $COMPOSE down -v --remove-orphans >/dev/null 2>&1 || true; }

# ----------------------------------------------------------------------- build inputs
wheels=${SMOKE_WHEELS:-/opt/wheels}
torch_index=https://download.pytorch.org/whl/cpu
if ls "$wheels"/torch-*+cpu-*.whl >/dev/null 2>&1; then
  cp -n "$wheels"/torch-*+cpu-*.whl docker/wheels/
  torch_index=""  # the local CPU wheel; the download index is not needed
fi
ca=${SMOKE_CA_BUNDLE:-${DOCKER_TOOLS_DIR:-/tmp/nextbuy-docker}/ca-certificates.crt}
[ -f "$ca" ] && cp "$ca" docker/build-ca/build-ca.crt
BUILD=(docker build --network host --build-arg "TORCH_INDEX_URL=$torch_index")

# ------------------------------------------------------------------------------ the run
teardown
step "build nextbuy:serve" "${BUILD[@]}" --target serve -t nextbuy:serve .
step "build nextbuy:full" "${BUILD[@]}" --target full -t nextbuy:full .
step "build postgres image" docker build --network host -t nextbuy-postgres:15 docker/postgres
size() { docker image inspect -f '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1 / 1e6}'; }
step "image sizes" bash -c "echo serve $(size nextbuy:serve 2>/dev/null), full $(size nextbuy:full 2>/dev/null)"
step "db up" $COMPOSE up -d db
step "db healthy" db_healthy 120
step "sample shop" $COMPOSE run --rm sample-shop --users 400 --items 120 --interactions 12000 --seed 7
step "train (trainer service)" $COMPOSE run --rm trainer --quiet
step "api up (2 workers)" $COMPOSE up -d api
step "api ready" wait_for 180 200 GET /ready

user=smoke-newbie
events='[{"event_id":"smoke-1","user_id":"smoke-newbie","item_id":"p00003","event":"purchase"},
 {"event_id":"smoke-2","user_id":"smoke-newbie","item_id":"p00004","event":"purchase"},
 {"event_id":"smoke-3","user_id":"smoke-newbie","item_id":"p00005","event":"cart"}]'
step "new user: fallback" expect 'status == 200 and body["strategy"] == "fallback"' \
  "$(http POST /recommend "{\"user_id\":\"$user\",\"k\":5}")"
step "post 3 events" expect 'status == 200 and body["stored"] == 3' "$(http POST /events "$events")"
step "events reflected" expect \
  'status == 200 and body["strategy"] != "fallback" and not {"p00003", "p00004"} & {i["item_id"] for i in body["recommendations"]}' \
  "$(http POST /recommend "{\"user_id\":\"$user\",\"k\":5}")"
step "seed POST /reco" expect 'status == 200 and len(body) == 5 and set(body[0]) == {"score", "item_name", "item_id", "brand"}' \
  "$(http POST /reco '{"user_id_hash":"u00042"}')"

step "db down" $COMPOSE stop db
step "recommend, db down" expect 'status == 200 and len(body["recommendations"]) == 5' \
  "$(http POST /recommend '{"user_id":"u00042","k":5}')"
step "events 503, db down" expect 'status == 503' \
  "$(http POST /events '[{"event_id":"smoke-4","user_id":"smoke-newbie","item_id":"p00006","event":"view"}]')"
step "db up again" $COMPOSE start db
step "db healthy again" db_healthy 120
step "events recover" wait_for 90 200 POST /events \
  '[{"event_id":"smoke-4","user_id":"smoke-newbie","item_id":"p00006","event":"view"}]'

step "restart api" $COMPOSE restart api
step "api ready again" wait_for 180 200 GET /ready
step "acknowledged events kept" expect 'status == 200 and body == "4"' "200 \"$(psql_count)\""
step "history after restart" expect 'status == 200 and body["strategy"] != "fallback"' \
  "$(http POST /recommend "{\"user_id\":\"$user\",\"k\":5}")"

version() { http GET /model | python3 -c 'import json, sys
try:
    print(json.loads(sys.stdin.read().partition(" ")[2]).get("version"))
except ValueError:
    print("none")'; }
before=$(version)
step "retrain on stored events" $COMPOSE run --rm trainer --quiet
step "api serves the new version" expect "status == 200 and body['version'] != '$before'" \
  "$(http GET /model)"

if [ "${SMOKE_KEEP:-0}" != 1 ]; then
  start=$SECONDS; teardown; ROWS+=("tear down|ok|$((SECONDS - start))s|compose down -v")
fi

# --------------------------------------------------------------------------- the table
printf '\n%-28s %-8s %-6s %s\n' "step" "result" "time" "detail"
printf '%-28s %-8s %-6s %s\n' "----------------------------" "------" "----" "------"
for row in "${ROWS[@]}"; do
  IFS='|' read -r name result took detail <<<"$row"
  printf '%-28s %-8s %-6s %s\n' "$name" "$result" "$took" "$detail"
done
if ((FAILED)); then echo "docker smoke: FAILED"; exit 1; fi
echo "docker smoke: all steps passed"
