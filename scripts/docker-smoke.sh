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
# CPU torch wheel to use instead of the download index), SMOKE_LOG_DIR (each step's full output;
# default a new folder under /tmp). Each step's result is printed as it ends, the table at the end
# (also when interrupted).
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
# docker-compose.override.yml publishes the API's port, which the host network refuses
if [ "$NEXTBUY_NETWORK_MODE" = host ]; then
  COMPOSE="docker-compose -f docker-compose.yml"
else
  COMPOSE="docker-compose -f docker-compose.yml -f docker-compose.override.yml"
fi
ROWS=()
FAILED=0

# ------------------------------------------------------------------------------- helpers
LOGS=${SMOKE_LOG_DIR:-$(mktemp -d /tmp/nextbuy-smoke.XXXXXX)}
mkdir -p "$LOGS"
STEP_NO=0
step() {  # step NAME COMMAND...: run it, time it, record a row; the rest is skipped after a failure
  local name=$1; shift
  if ((FAILED)); then ROWS+=("$name|skipped|-|"); echo "-- $name: skipped" >&2; return 1; fi
  STEP_NO=$((STEP_NO + 1))
  local log start=$SECONDS rc took detail
  log=$(printf '%s/%02d-%s.log' "$LOGS" "$STEP_NO" "${name//[^A-Za-z0-9]/_}")
  echo "-- $name ..." >&2
  "$@" >"$log" 2>&1; rc=$?
  took=$((SECONDS - start))
  # the last line that says something (no table borders), ASCII only so the columns line up
  detail=$(LC_ALL=C tr -cd '\11\12\40-\176' <"$log" | grep '[A-Za-z0-9]' | tail -n 1 | cut -c1-70)
  if ((rc == 0)); then
    ROWS+=("$name|ok|${took}s|$detail")
    echo "-- $name: ok (${took}s) $detail" >&2
  else
    ROWS+=("$name|FAILED|${took}s|$detail"); FAILED=1
    printf '\n--- %s failed (exit %s, %ss; full output %s) ---\n' "$name" "$rc" "$took" "$log" >&2
    tail -n 40 "$log" >&2
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
try:
    ok = bool(eval(sys.argv[1]))
except Exception as exc:  # a missing key or a wrong type is a failed check, said plainly
    ok = False
    print(f"{type(exc).__name__}: {exc}")
print(("ok: " if ok else "unexpected: ") + sys.argv[1] + " | " + raw[:160])
sys.exit(0 if ok else 1)' "$1" "$2"
}

check() {  # check PYTHON_CONDITION METHOD PATH [JSON]: ask the API now, then expect
  local condition=$1 answer; shift
  answer=$(http "$@")
  echo "$* -> ${answer:0:300}"
  expect "$condition" "$answer"
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

events_kept() {  # the smoke events in PostgreSQL, counted by psql inside the db container
  local n
  n=$($COMPOSE exec -T db psql -U nextbuy -d nextbuy -tAc \
    "select count(*) from nextbuy_events where event_id like 'smoke-%'") || return 1
  n=$(printf '%s' "$n" | tr -d '[:space:]')
  echo "acknowledged 4, stored $n"
  [ "$n" = 4 ]
}

model_version() {  # the version the API serves now ("none" when it does not answer)
  http GET /model | python3 -c 'import json, sys
try:
    print(json.loads(sys.stdin.read().partition(" ")[2]).get("version"))
except (ValueError, AttributeError):
    print("none")'
}

new_version() {  # new_version BEFORE SECONDS: until the API serves another version than BEFORE
  local before=$1 deadline=$((SECONDS + $2)) now
  while ((SECONDS < deadline)); do
    now=$(model_version)
    [ "$now" != none ] && [ "$now" != "$before" ] && { echo "serves $now (was $before)"; return 0; }
    sleep 1
  done
  echo "still $now after $2s (was $before)"; return 1
}

teardown() { $COMPOSE down -v --remove-orphans; }

table() {
  printf '\n%-28s %-8s %-6s %s\n' "step" "result" "time" "detail"
  printf '%-28s %-8s %-6s %s\n' "----------------------------" "------" "----" "------"
  local row name result took detail
  for row in "${ROWS[@]}"; do
    IFS='|' read -r name result took detail <<<"$row"
    printf '%-28s %-8s %-6s %s\n' "$name" "$result" "$took" "$detail"
  done
  printf 'total %ss; step logs in %s\n' "$SECONDS" "$LOGS"
}

interrupted() {  # Ctrl-C or a kill: still tear down (unless SMOKE_KEEP=1), print the table, fail
  trap - INT TERM
  ROWS+=("interrupted|FAILED|-|signal"); FAILED=1
  [ "${SMOKE_KEEP:-0}" = 1 ] || teardown >/dev/null 2>&1
  table
  echo "docker smoke: FAILED (interrupted)"
  exit 1
}
trap interrupted INT TERM

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
echo "docker smoke: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uptime | sed 's/.*load/load/'); logs in $LOGS" >&2
step "clean start" teardown
step "build nextbuy:serve" "${BUILD[@]}" --target serve -t nextbuy:serve .
step "build nextbuy:full" "${BUILD[@]}" --target full -t nextbuy:full .
step "build postgres image" docker build --network host -t nextbuy-postgres:15 docker/postgres
size() { docker image inspect -f '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1 / 1e6}'; }
image_sizes() { echo "serve $(size nextbuy:serve), full $(size nextbuy:full), postgres $(size nextbuy-postgres:15)"; }
step "image sizes" image_sizes
step "serve image: no torch" docker run --rm --network host --entrypoint python3 nextbuy:serve -c \
  "import importlib.util as u, sys, nextbuy.serving.app; bad = [m for m in ('torch', 'implicit', 'optuna', 'matplotlib') if u.find_spec(m)]; print('nextbuy.serving.app imports; train-only modules installed:', bad or 'none'); sys.exit(1 if bad else 0)"
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
late='[{"event_id":"smoke-4","user_id":"smoke-newbie","item_id":"p00006","event":"view"}]'
step "new user: fallback" check 'status == 200 and body["strategy"] == "fallback"' \
  POST /recommend "{\"user_id\":\"$user\",\"k\":5}"
step "post 3 events" check 'status == 200 and body["stored"] == 3' POST /events "$events"
step "events reflected" check \
  'status == 200 and body["strategy"] != "fallback" and not {"p00003", "p00004"} & {i["item_id"] for i in body["recommendations"]}' \
  POST /recommend "{\"user_id\":\"$user\",\"k\":5}"
step "seed POST /reco" check 'status == 200 and len(body) == 5 and set(body[0]) == {"score", "item_name", "item_id", "brand"}' \
  POST /reco '{"user_id_hash":"u00042"}'

step "db down" $COMPOSE stop db
step "recommend, db down" check 'status == 200 and len(body["recommendations"]) == 5' \
  POST /recommend '{"user_id":"u00042","k":5}'
step "events 503, db down" check 'status == 503' POST /events "$late"
step "db up again" $COMPOSE start db
step "db healthy again" db_healthy 120
step "events recover" wait_for 90 200 POST /events "$late"

step "restart api" $COMPOSE restart api
step "api ready again" wait_for 180 200 GET /ready
step "acknowledged events kept" events_kept
step "history after restart" check 'status == 200 and body["strategy"] != "fallback"' \
  POST /recommend "{\"user_id\":\"$user\",\"k\":5}"

before=$(model_version)
step "retrain on stored events" $COMPOSE run --rm trainer --quiet
step "api serves the new version" new_version "$before" 30

if [ "${SMOKE_KEEP:-0}" != 1 ]; then
  FAILED_BEFORE=$FAILED; FAILED=0  # tear down even after a failure; its own failure counts too
  step "tear down" teardown
  ((FAILED_BEFORE)) && FAILED=1
fi

trap - INT TERM
table
if ((FAILED)); then echo "docker smoke: FAILED"; exit 1; fi
echo "docker smoke: all steps passed"
