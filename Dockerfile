# netlab in an image. It builds namespaces on the HOST, so it runs privileged, in the
# host's network and pid namespaces, with /run/netns shared both ways:
#
#   docker build -t netlab .
#   docker run --rm --privileged --pid=host --network=host \
#     -v /run/netns:/run/netns:shared -v /run/netlab:/run/netlab netlab up topologies/nat.yaml
#   docker run --rm --privileged --pid=host --network=host \
#     -v /run/netns:/run/netns:shared -v /run/netlab:/run/netlab netlab down nat
#
# BASE is any Debian bookworm image with Python 3.11: the official python image by
# default; where no registry can be reached, scripts/docker-base.sh makes one locally.
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

# iproute2 for users (ip netns, ip link), nftables/libnftables1 for NAT (netlab calls
# libnftables through ctypes), ping for checks, graphviz (dot) for `netlab graph --format
# svg|png` and the pictures in reports. A base that has them skips apt.
RUN if ! (command -v ip && command -v nft && command -v ping && command -v dot \
          && ldconfig -p | grep -q libnftables.so.1) >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends iproute2 nftables libnftables1 iputils-ping \
        graphviz \
      && rm -rf /var/lib/apt/lists/*; \
    fi

# PIP_CERT: a CA bundle for pip (a TLS-inspecting proxy); empty means pip's own.
ARG PIP_CERT=
WORKDIR /opt/netlab
COPY pyproject.toml README.m[d] ./
COPY netlab ./netlab
# the labs and topologies ship inside the package (netlab.content): they are built in
COPY labs ./labs
COPY topologies ./topologies
# gcc, libyaml's and Python's headers build netlab's YAML reader in C (netlab/yamlc, ~4x
# the pure-Python one; without them pip installs netlab with that one): what the base
# lacks is installed for the build and removed after it, libyaml itself kept.
RUN build=""; [ -f /usr/include/yaml.h ] || build="libyaml-dev"; \
    command -v gcc >/dev/null || build="$build gcc libc6-dev"; \
    python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(sysconfig.get_paths()["include"] + "/Python.h"))' \
      || build="$build python3-dev"; \
    if [ -n "$build" ]; then apt-get update && apt-get install -y --no-install-recommends $build libyaml-0-2; fi \
    && python3 -m venv /opt/venv \
    && if [ -z "$PIP_CERT" ]; then unset PIP_CERT; fi \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check . \
    && if [ -n "$build" ]; then apt-get purge -y --auto-remove $build && rm -rf /var/lib/apt/lists/*; fi \
    && /opt/venv/bin/netlab --help >/dev/null && /opt/venv/bin/netlab lab list >/dev/null
ENV PATH=/opt/venv/bin:$PATH
ENTRYPOINT ["netlab"]
CMD ["--help"]
