#!/usr/bin/env bash
# The floor: the benchmark's Ray containers started by hand with plain `docker run`, the same flags,
# command and resources as roles/ray_cluster/tasks/container.yml with the seed's allocation, and
# nothing else (no checks, no firewall, no waiting). bench.py times it until every node is ALIVE.
#
#   benchmarks/floor.sh IMAGE TOKEN_FILE HEAD_CONTAINER=HEAD_IP [WORKER_CONTAINER=WORKER_IP ...]
set -euo pipefail

image=$1 token_file=$2 head=$3
shift 3
head_container=${head%%=*} head_ip=${head#*=}

# The flags every node starts with (roles/ray_cluster/vars/main.yml): every port pinned.
node_args() {
  NODE_ARGS=(--node-ip-address="$1" --node-manager-port=8076 --object-manager-port=8077 --runtime-env-agent-port=8078
             --dashboard-agent-grpc-port=8079 --dashboard-agent-listen-port=52365 --metrics-export-port=9091
             --min-worker-port=10002 --max-worker-port=19999 --disable-usage-stats)
}

# Ray's data directory and the token file, as the role leaves them, then the container.
run_node() {
  local node=$1 name=$2 role=$3 shm=$4
  shift 4
  docker exec -i "$node" sh -c 'umask 077 && mkdir -p /var/lib/ray/session /var/lib/ray/secrets &&
    chown 1000:100 /var/lib/ray/session && chmod 0711 /var/lib/ray/secrets &&
    cat > /var/lib/ray/secrets/auth_token && chown 1000:100 /var/lib/ray/secrets/auth_token' < "$token_file"
  docker exec "$node" docker run -d --name "$name" --network host --init --shm-size "$shm" \
    --restart unless-stopped --user 1000:100 --cap-drop ALL --security-opt no-new-privileges:true \
    -e RAY_AUTH_MODE=token -e RAY_AUTH_TOKEN_PATH=/run/secrets/ray_auth_token \
    -v /var/lib/ray/session:/tmp/ray -v /var/lib/ray/secrets/auth_token:/run/secrets/ray_auth_token:ro \
    --label io.wizardsofts.ray.role="$role" "$image" "$@" >/dev/null
}

node_args "$head_ip"
run_node "$head_container" ray-head head 2798435456 ray start --head --block --port=6379 --dashboard-host=0.0.0.0 \
  --dashboard-port=8265 --ray-client-server-port=10001 --num-cpus=4 --num-gpus=0 --memory=8000000000 \
  --object-store-memory=2300000000 "${NODE_ARGS[@]}" &
for worker in "$@"; do
  node_args "${worker#*=}"
  run_node "${worker%%=*}" ray-worker worker 17868435456 ray start --block --address="$head_ip:6379" --num-cpus=8 \
    --num-gpus=0 --memory=16000000000 --object-store-memory=16000000000 "${NODE_ARGS[@]}" &
done
wait
