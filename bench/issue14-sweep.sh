#!/usr/bin/env bash
# The same plan of 15 runs (5 strategies × 3 seeds, MNIST 0-4 then 5-9) three ways: the local pool (2 processes),
# the queue with 1 worker process, the queue with 2 worker processes. Redis is started on a free port.
#   bash bench/issue14-sweep.sh [iterations]
# PLAN='compare flags' replaces the plan (keep --no-progress --json), e.g. the EWC λ grid on split MNIST:
#   PLAN='--scenario split-mnist --strategies ewc --grid ewc.lambda=1e1,1e2,1e3,1e4,1e5 --seeds 3 --no-progress --json' \
#     bash bench/issue14-sweep.sh
set -euo pipefail
cd "$(dirname "$0")/.."
iters=${1:-40}
port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
out=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --pidfile "$out/redis.pid" >/dev/null
sleep 0.5
url=redis://127.0.0.1:$port
unf() { node --import tsx src/cli/main.ts "$@"; }
plan=(--scenario mnist-transfer --strategies finetune,ewc,lwf,si,replay --seeds 3 --hidden 100
  --iterations "$iters" --batch-size 32 --backend "${BACKEND:-wasm}" --no-progress --json)
if [ -n "${PLAN:-}" ]; then read -r -a plan <<<"$PLAN"; fi
seconds() { node -e "console.log(JSON.parse(require('fs').readFileSync(0,'utf8')).seconds.toFixed(1))"; }
commands() { redis-cli -p "$port" info stats | sed -n 's/^total_commands_processed:\([0-9]*\).*/\1/p'; }

echo "load before: $(uptime | sed 's/.*load average: //')"
echo "local pool, 2 processes: $(unf compare "${plan[@]}" --workers 2 --results "$out/local" | seconds) s"

for n in 1 2; do
  pids=()
  for i in $(seq "$n"); do
    node --import tsx src/cli/main.ts worker --queue "$url" >"$out/worker$n-$i.log" 2>&1 &  # not unf: $! must be node
    pids+=($!)
  done
  until [ "$(grep -l 'takes runs' "$out"/worker"$n"-*.log 2>/dev/null | wc -l)" -eq "$n" ]; do sleep 0.2; done
  c0=$(commands)
  echo "queue, $n worker process(es): $(unf compare "${plan[@]}" --queue "$url" --results "$out/queue$n" | seconds) s," \
    "$(( ($(commands) - c0) / 15 )) Redis commands per run"
  kill -TERM "${pids[@]}" # (a background job ignores SIGINT)
  wait "${pids[@]}" || true
done
echo "load after: $(uptime | sed 's/.*load average: //')"
node -e "
const fs=require('fs');const m=(d)=>Object.fromEntries(fs.readdirSync(d).filter(f=>/seed\d\.json$/.test(f)).map(f=>[f,JSON.stringify(JSON.parse(fs.readFileSync(d+'/'+f)).result.accuracyMatrix)]));
const a=m('$out/local');for(const q of ['queue1','queue2']){const b=m('$out/'+q);console.log(q+': same accuracy matrices as the local pool for',Object.keys(a).filter(k=>a[k]===b[k]).length,'of',Object.keys(a).length,'runs')}"
kill "$(cat "$out/redis.pid")"
rm -rf "$out"
