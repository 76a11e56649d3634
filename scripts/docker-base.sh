#!/usr/bin/env bash
# Make a local Debian base image for netlab's Dockerfile where no registry can be pulled:
# mmdebstrap builds a bookworm root file system from Debian's packages (python3,
# python3-venv, iproute2, nftables, libnftables1, graphviz, and gcc with libyaml's and Python's
# headers for netlab's YAML reader in C) into a tarball, and `docker import`
# turns it into an image. An image already tagged so is kept: it is built once. The default
# tag carries a hash of the suite and package list, so a base that an older version of this
# script made (other packages) is not taken for this one's.
#
#   scripts/docker-base.sh [TAG]     prints the tag (default netlab-base:bookworm-<hash>)
#   docker build --network=host --build-arg BASE="$(scripts/docker-base.sh)" -t netlab .
#
# The base trusts the certificates this machine trusts (its CA bundle is copied in),
# so pip inside the build works behind the same TLS-inspecting proxy as the host.
set -euo pipefail
SUITE=${NETLAB_BASE_SUITE:-bookworm}
pkgs=python3,python3-venv,python3-dev,gcc,libc6-dev,libyaml-dev,iproute2,nftables,libnftables1,iputils-ping,graphviz,ca-certificates
TAG=${1:-netlab-base:$SUITE-$(printf '%s %s' "$SUITE" "$pkgs" | sha256sum | cut -c1-8)}
if docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "$TAG"
  exit 0
fi
command -v mmdebstrap >/dev/null || { echo "mmdebstrap is not installed (apt-get install mmdebstrap)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
hooks=()
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  hooks+=(--customize-hook='copy-in /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs')
fi
mmdebstrap --quiet --variant=minbase --include="$pkgs" \
  --aptopt='Acquire::Check-Valid-Until "false"' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' "${hooks[@]}" \
  "$SUITE" "$work/rootfs.tar" >&2
docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' "$work/rootfs.tar" "$TAG" >/dev/null
echo "$TAG"
