# openclaw-slo-exporter container image.
# Stage 1 builds wheels (the same `pip wheel .` the packaging test runs); stage 2 installs them
# offline into a slim runtime that runs as a fixed non-root uid on a read-only root filesystem.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY exporter ./exporter
COPY slo ./slo
COPY dashboards ./dashboards
COPY openclaw_schema ./openclaw_schema
# The runtime's extras only: the pod watcher's client and uvloop, not the generators' grafanalib.
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[kubernetes,fast]"

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="openclaw-slo-exporter" \
      org.opencontainers.image.description="Prometheus exporter and SLO toolkit for the OpenClaw gateway" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/openclaw-slo-exporter/openclaw-slo-exporter"
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels "openclaw-slo-exporter[kubernetes,fast]" \
    && rm -rf /wheels \
    && groupadd --gid 10001 exporter \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin exporter
# No .pyc writes (read-only root), unbuffered logs; the live SLO state goes to a mounted volume.
# The auth digests (README "auth_failed, never a timeout") go there too (deploy/ mounts it).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OPENCLAW_EXPORTER_STATE_DIR=/var/lib/openclaw-exporter
USER 10001:10001
EXPOSE 9879
ENTRYPOINT ["openclaw-exporter"]
CMD ["run", "--config.file=/etc/openclaw-exporter/exporter.yml", "--web.listen-address=:9879"]
