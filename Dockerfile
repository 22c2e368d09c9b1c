# NextBuy images, from Debian bookworm's Python 3.11 (docs/deploy.md):
#   docker build --target serve -t nextbuy:serve .   # the API: no torch, implicit, optuna
#   docker build --target full  -t nextbuy:full  .   # also trains (CPU torch): the trainer
# Build arguments: PIP_INDEX_URL (package index), TORCH_INDEX_URL (where the CPU torch wheel
# comes from; empty = only docker/wheels/ and the index), TORCH_VERSION. A wheel put in
# docker/wheels/ is used first (scripts/docker-smoke.sh puts the local CPU wheel there). A CA
# bundle in docker/build-ca/ is trusted by pip in the build stage only: it never reaches an image.

FROM debian:bookworm-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    LANG=C.UTF-8
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /srv/nextbuy --create-home nextbuy \
 && mkdir -p /models /data && chown nextbuy:nextbuy /models /data

FROM runtime AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-venv python3-pip \
 && rm -rf /var/lib/apt/lists/*
ARG PIP_INDEX_URL=https://pypi.org/simple
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_VERSION=2.13.0
COPY docker/build-ca/ /tmp/build-ca/
COPY docker/wheels/ /tmp/wheels/
COPY pyproject.toml /src/pyproject.toml
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_INDEX_URL=${PIP_INDEX_URL}
# The dependencies first, from pyproject.toml alone (this layer is cached until it changes):
# serve gets the core, full the core plus the train extra (CPU torch first).
RUN set -eu; \
    if ls /tmp/build-ca/*.crt >/dev/null 2>&1; then export PIP_CERT="$(ls /tmp/build-ca/*.crt | head -1)"; fi; \
    python3 -c "import tomllib; p = tomllib.load(open('/src/pyproject.toml', 'rb'))['project']; \
open('/tmp/core.txt', 'w').write('\n'.join(p['dependencies'])); \
open('/tmp/train.txt', 'w').write('\n'.join(p['optional-dependencies']['train']))"; \
    python3 -m venv /opt/serve && python3 -m venv /opt/full; \
    /opt/serve/bin/pip install --find-links /tmp/wheels -r /tmp/core.txt; \
    torch_index=""; if [ -n "$TORCH_INDEX_URL" ]; then torch_index="--extra-index-url $TORCH_INDEX_URL"; fi; \
    /opt/full/bin/pip install --find-links /tmp/wheels $torch_index "torch==${TORCH_VERSION}"; \
    /opt/full/bin/pip install --find-links /tmp/wheels -r /tmp/core.txt -r /tmp/train.txt
# Then NextBuy itself, one wheel into both environments (no dependency resolution again).
COPY README.md LICENSE /src/
COPY src/ /src/src/
RUN set -eu; \
    if ls /tmp/build-ca/*.crt >/dev/null 2>&1; then export PIP_CERT="$(ls /tmp/build-ca/*.crt | head -1)"; fi; \
    /opt/serve/bin/pip wheel --no-deps --wheel-dir /tmp/dist /src; \
    /opt/serve/bin/pip install --no-deps /tmp/dist/nextbuy-*.whl; \
    /opt/full/bin/pip install --no-deps /tmp/dist/nextbuy-*.whl; \
    /opt/serve/bin/python -c "import nextbuy.serving.app"; \
    /opt/full/bin/python -c "import implicit, torch, nextbuy.training"; \
    find /opt/serve /opt/full -name '__pycache__' -prune -exec rm -rf {} +

FROM runtime AS serve-base
ENV NEXTBUY_HOST=0.0.0.0 NEXTBUY_PORT=8000 NEXTBUY_MODEL_DIR=/models/als \
    HOME=/srv/nextbuy
WORKDIR /srv/nextbuy
VOLUME ["/models"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('NEXTBUY_PORT', '8000'), timeout=4)"]
ENTRYPOINT ["nextbuy", "serve"]

FROM serve-base AS serve
COPY --from=build /opt/serve /opt/serve
ENV PATH=/opt/serve/bin:$PATH
USER nextbuy

FROM serve-base AS full
COPY --from=build /opt/full /opt/full
ENV PATH=/opt/full/bin:$PATH
USER nextbuy
