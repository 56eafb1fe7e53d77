# syntax=docker/dockerfile:1
# The Confianza image: one image for every role (`confianza worker streams`,
# `confianza worker deliver --channel …`, `confianza ops lag`, the provisioning commands, the
# demo webhook receiver). Build from the checkout root:
#
#   docker build -t confianza:0.1.0 .
#
# Stage 1 builds the project's wheel with the command CI checks (tests/deploy/test_image.py)
# and installs it with the rocksdb extra into a virtualenv; stage 2 is the slim base with that
# virtualenv only (no compiler, no pip cache, no sources), running as an unprivileged user.
# Pin the base by digest at release time: docker buildx imagetools inspect <base>.
ARG BASE_IMAGE=python:3.11.14-slim-bookworm

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY confianza/ confianza/
COPY schemas/ schemas/
COPY producers/ producers/
COPY streams/ streams/
COPY consumers/ consumers/
RUN python -m pip wheel --no-deps -w /dist .
RUN python -m venv /opt/confianza \
    && set -- /dist/confianza-*.whl \
    && /opt/confianza/bin/pip install --no-cache-dir "confianza[rocksdb] @ file://$1"

FROM ${BASE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="confianza" \
      org.opencontainers.image.description="Incident-event and alert pipeline workers" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/confianza/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CONFIANZA_DATA_DIR=/var/lib/confianza \
    CONFIANZA_METRICS__HOST=0.0.0.0 \
    CONFIANZA_LOG__FORMAT=json
# The mount points of the compose volumes exist in the image, owned by the user, so a fresh
# named volume starts out writable by it.
RUN groupadd --system --gid 10001 confianza \
    && useradd --system --uid 10001 --gid confianza --home-dir /var/lib/confianza \
       --create-home --shell /usr/sbin/nologin confianza \
    && install -d -o confianza -g confianza -m 0750 \
       /var/lib/confianza/credentials \
       /var/lib/confianza/partner-credentials \
       /var/lib/confianza/streams \
       /var/lib/confianza/alerts \
       /var/lib/confianza/receiver
COPY --from=build /opt/confianza /opt/confianza
COPY --chmod=0755 deploy/docker/entrypoint.sh /usr/local/bin/confianza-entrypoint
COPY --chmod=0755 deploy/docker/healthcheck.py /usr/local/bin/confianza-healthcheck
USER 10001:10001
WORKDIR /var/lib/confianza
# Metrics, /healthz and /readyz of streams (9310), delivery (9311) and the lag exporter (9319).
EXPOSE 9310 9311 9319
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["confianza-healthcheck"]
ENTRYPOINT ["confianza-entrypoint"]
CMD ["--help"]
