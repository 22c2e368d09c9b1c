# NextBuy images, from Debian bookworm's Python 3.11 (docs/deploy.md):
#   docker build --target serve -t nextbuy:serve .   # the API: no torch, implicit, optuna
#   docker build --target full  -t nextbuy:full  .   # also trains (CPU torch): the trainer
# Build arguments: PIP_INDEX_URL (package index), TORCH_INDEX_URL (where the CPU torch wheel
# comes from; empty = only docker/wheels/ and the index), TORCH_VERSION. A wheel put in
# docker/wheels/ is used first (scripts/docker-smoke.sh puts the local CPU wheel there). A CA
# bundle in docker/build-ca/ is trusted by pip in the build stages only: it never reaches an image.
# The stages are ordered so that the classic builder (which builds every stage before the
# target) builds no torch for `--target serve`, and `full` reuses the core dependency layer.
# Each image is a runtime base, one dependency layer and one small NextBuy layer.

FROM debian:bookworm-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    LANG=C.UTF-8
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /srv/nextbuy --create-home nextbuy \
 && mkdir -p /models /data && chown nextbuy:nextbuy /models /data

# Build tools and the CA bundle (build stages only).
FROM runtime AS tools
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-venv \
 && rm -rf /var/lib/apt/lists/*
ARG PIP_INDEX_URL=https://pypi.org/simple
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_INDEX_URL=${PIP_INDEX_URL}
COPY docker/build-ca/ /tmp/build-ca/

# The core dependencies in /opt/venv, from pyproject.toml alone: cached until it changes.
FROM tools AS build
COPY pyproject.toml /src/pyproject.toml
RUN set -eu; \
    if ls /tmp/build-ca/*.crt >/dev/null 2>&1; then export PIP_CERT="$(ls /tmp/build-ca/*.crt | head -1)"; fi; \
    python3 -c "import tomllib; p = tomllib.load(open('/src/pyproject.toml', 'rb'))['project']; \
open('/tmp/core.txt', 'w').write('\n'.join(p['dependencies'])); \
open('/tmp/train.txt', 'w').write('\n'.join(p['optional-dependencies']['train']))"; \
    python3 -m venv /opt/venv; \
    /opt/venv/bin/pip install -r /tmp/core.txt; \
    find /opt/venv -name '__pycache__' -prune -exec rm -rf {} +

# NextBuy itself, installed under /pkg as it lies in /opt/venv (package, metadata, the
# `nextbuy` script): each image adds it as one small last layer, so a source change rebuilds
# neither dependency layer.
FROM tools AS wheel
COPY pyproject.toml README.md LICENSE /src/
COPY src/ /src/src/
RUN set -eu; \
    if ls /tmp/build-ca/*.crt >/dev/null 2>&1; then export PIP_CERT="$(ls /tmp/build-ca/*.crt | head -1)"; fi; \
    python3 -m venv /opt/venv; \
    /opt/venv/bin/pip wheel --no-deps --wheel-dir /dist /src; \
    /opt/venv/bin/pip install --no-deps --no-compile --prefix /pkg/opt/venv /dist/nextbuy-*.whl; \
    test -d /pkg/opt/venv/lib/python3.11/site-packages/nextbuy; \
    head -1 /pkg/opt/venv/bin/nextbuy | grep -qx '#!/opt/venv/bin/python3\?'

FROM runtime AS serve-base
ENV NEXTBUY_HOST=0.0.0.0 NEXTBUY_PORT=8000 NEXTBUY_MODEL_DIR=/models/als \
    HOME=/srv/nextbuy PATH=/opt/venv/bin:$PATH
WORKDIR /srv/nextbuy
VOLUME ["/models"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('NEXTBUY_PORT', '8000'), timeout=4)"]
ENTRYPOINT ["nextbuy", "serve"]
USER nextbuy

# Each image is serve-base plus its dependencies (root-owned, read-only to the user) plus NextBuy.
FROM serve-base AS serve
COPY --from=build /opt/venv /opt/venv
COPY --from=wheel /pkg/ /

# The train extra on top of the core layer: CPU torch first (docker/wheels/ or TORCH_INDEX_URL).
FROM build AS full-venv
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_VERSION=2.13.0
COPY docker/wheels/ /tmp/wheels/
RUN set -eu; \
    if ls /tmp/build-ca/*.crt >/dev/null 2>&1; then export PIP_CERT="$(ls /tmp/build-ca/*.crt | head -1)"; fi; \
    torch_index=""; if [ -n "$TORCH_INDEX_URL" ]; then torch_index="--extra-index-url $TORCH_INDEX_URL"; fi; \
    /opt/venv/bin/pip install --find-links /tmp/wheels $torch_index "torch==${TORCH_VERSION}"; \
    /opt/venv/bin/pip install --find-links /tmp/wheels -r /tmp/train.txt; \
    /opt/venv/bin/python -c "import implicit, torch"; \
    find /opt/venv -name '__pycache__' -prune -exec rm -rf {} +

FROM serve-base AS full
COPY --from=full-venv /opt/venv /opt/venv
COPY --from=wheel /pkg/ /
