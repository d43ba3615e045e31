#!/usr/bin/env bash
# Builds the test bed's images from Debian and PyPI packages only: no container registry is
# reachable here, so nothing is pulled. Each image is tagged with a hash of its inputs and is
# rebuilt only when those inputs change.
#
#   testbed/images/build.sh            build what is missing, print the image names
#   RAY_VERSION=2.60.0 ...             Ray version baked into the Ray image
#   RAY_PREVIOUS_VERSION=2.59.0 ...    also build a Ray image of that older version (the day2
#                                      scenario's rolling upgrade starts from it)
#
# Prints, as Ansible variables (YAML), the node images (without and with Docker) and the Ray image and archive the
# collection's roles should use; the Makefile writes them into the test inventories. With
# RAY_PREVIOUS_VERSION it also prints testbed_previous_ray_version, _image and _image_archive.
set -euo pipefail
shopt -s inherit_errexit

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ray_version="${RAY_VERSION:-2.60.0}"
previous_ray_version="${RAY_PREVIOUS_VERSION:-}"
cache_dir="${WIZARDSOFTS_RAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wizardsofts-ray}"
mkdir -p "$cache_dir"

log() { printf '[testbed] %s\n' "$*" >&2; }

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# Hash of a directory's files plus extra strings: the cache key of an image.
inputs_hash() {
  local dir="$1"; shift
  { (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum); printf '%s\n' "$@"; } \
    | sha256sum | cut -c1-12
}

debian_mirror() {
  # The Debian mirror this machine already uses (one-line or deb822 sources), so the image gets
  # its packages from the same place; other repositories in the sources are ignored.
  local uri
  uri="$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
         | head -n1 | tr -d ' ' || true)"
  echo "${uri:-http://deb.debian.org/debian}"
}

build_base() {
  local tag="wizardsofts-ray-testbed/bookworm-base:1"
  if image_exists "$tag"; then echo "$tag"; return; fi
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
  fi
  local rootfs; rootfs="$(mktemp -d)"
  log "debootstrap bookworm into $rootfs (about a minute, once)"
  debootstrap --variant=minbase \
    --include=python3,python3-venv,python3-pip,iproute2,procps,ca-certificates \
    bookworm "$rootfs" "$(debian_mirror)" >&2
  tar -C "$rootfs" -c . | docker import - "$tag" >&2
  rm -rf "$rootfs"
  echo "$tag"
}

# Copies the host's CA bundle into a build context: package downloads inside a build
# must trust the same certificate authorities as the host does.
with_host_ca() {
  local ctx; ctx="$(mktemp -d)"
  cp -r "$1"/. "$ctx"/
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca-certificates.crt"
  echo "$ctx"
}

build_image() {
  local name="$1" dir="$2" base="$3"; shift 3
  local tag; tag="$name:$(inputs_hash "$dir" "$base" "$@")"
  if ! image_exists "$tag"; then
    log "building $tag"
    local ctx; ctx="$(with_host_ca "$dir")"
    docker build --network host --quiet --build-arg "BASE_IMAGE=$base" "${@/#/--build-arg=}" -t "$tag" "$ctx" >&2
    rm -rf "$ctx"
  fi
  echo "$tag"
}

base="$(build_base)"
node_image="$(build_image wizardsofts-ray-testbed/node "$here/node" "$base")"
node_with_docker_image="$(build_image wizardsofts-ray-testbed/node-with-docker "$here/node-with-docker" "$node_image")"
ray_image="$(build_image wizardsofts-ray-testbed/ray "$here/ray" "$base" "RAY_VERSION=$ray_version")"

# The archive the Ray roles ship to nodes that cannot pull (air-gapped sites, and our nodes).
save_archive() {
  local image="$1" name="${1%:*}" archive
  archive="$cache_dir/${name##*/}-${1##*:}.tar"
  if [ ! -s "$archive" ]; then
    log "saving $image to $archive"
    docker save "$image" -o "$archive.partial" && mv "$archive.partial" "$archive"
  fi
  echo "$archive"
}
ray_archive="$(save_archive "$ray_image")"
# Redis for the GCS fault-tolerance scenario (the ray_redis role), shipped the same way.
redis_image="$(build_image wizardsofts-ray-testbed/redis "$here/redis" "$base")"
redis_archive="$(save_archive "$redis_image")"

cat <<YAML
---
# Written by testbed/images/build.sh: the images of the local test bed.
testbed_node_image: "$node_image"
# The same server with Docker already installed and running (for suites that do not test the install).
testbed_node_with_docker_image: "$node_with_docker_image"
ray_cluster_version: "$ray_version"
ray_cluster_image: "$ray_image"
ray_cluster_image_archive: "$ray_archive"
ray_redis_image: "$redis_image"
ray_redis_image_archive: "$redis_archive"
YAML

if [ -n "$previous_ray_version" ]; then
  previous_ray_image="$(build_image wizardsofts-ray-testbed/ray "$here/ray" "$base" "RAY_VERSION=$previous_ray_version")"
  previous_ray_archive="$(save_archive "$previous_ray_image")"
  cat <<YAML
# The older Ray release an upgrade test starts from (RAY_PREVIOUS_VERSION).
testbed_previous_ray_version: "$previous_ray_version"
testbed_previous_ray_image: "$previous_ray_image"
testbed_previous_ray_image_archive: "$previous_ray_archive"
YAML
fi
