#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine: if none does, installs Debian's docker.io
# (when dockerd is missing) and starts dockerd, then waits until `docker info` answers.
set -euo pipefail

engine_answers() { docker info >/dev/null 2>&1; }

engine_answers && exit 0

if ! command -v dockerd >/dev/null 2>&1; then
  echo "[testbed] installing Debian's docker.io" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >&2
fi

if command -v systemctl >/dev/null 2>&1 && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
  systemctl start docker
else
  # No systemd as PID 1 (containers, CI sandboxes): run the daemon in the background.
  echo "[testbed] starting dockerd (log: /var/log/dockerd.log)" >&2
  nohup dockerd >/var/log/dockerd.log 2>&1 &
fi

deadline=$((SECONDS + 60))
until engine_answers; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "[testbed] the Docker engine did not answer within 60 s; see /var/log/dockerd.log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "[testbed] Docker engine is up" >&2
