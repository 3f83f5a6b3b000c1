# mockserver as a CI service:  docker build -t mockserver .  then  docker run -p 8080:8080 mockserver
# Linted by hadolint and its entry point run (CMD with these ENV, then the HEALTHCHECK) in
# tests/reliability/test_dockerfile.py.

# ---- build stage: a wheel of the project (specs/ ships inside it as package data) ----
FROM python:3.12-slim AS builder
WORKDIR /src
COPY pyproject.toml setup.cfg README.md ./
COPY mockserver ./mockserver
COPY specs ./specs
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# ---- runtime stage: the wheel and its dependencies, nothing else ----
FROM python:3.12-slim
# Every MOCKSERVER_* setting is read from the environment (`docker run -e MOCKSERVER_X=...`); these
# are the image's defaults. MOCKSERVER_SPECS is unset: the specs shipped in the package are served;
# mount a directory and set MOCKSERVER_SPECS=/specs to serve your own. MOCKSERVER_API_KEYS and
# MOCKSERVER_DEFAULT_USER keep the package defaults (any API key; audit user "mockserver").
# MOCKSERVER_WORKERS is unset: one worker (8 threads) per CPU core the container may use; fault rules,
# the journal and the limits are shared by all workers (under /data/__mockserver).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MOCKSERVER_HOST=0.0.0.0 \
    MOCKSERVER_PORT=8080 \
    MOCKSERVER_DATA=/data \
    MOCKSERVER_LOG_LEVEL=INFO \
    MOCKSERVER_LOG_FORMAT=text \
    MOCKSERVER_ACCESS_LOG=true
COPY --from=builder /wheels /wheels
# The wheel just built from this checkout; its dependencies resolve from setup.cfg, as `pip install .`.
RUN pip install --no-cache-dir /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin mockserver \
    && mkdir /data \
    && chown mockserver /data
USER 10001
WORKDIR /data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/__mockserver/health' % os.environ.get('MOCKSERVER_PORT', '8080'), timeout=4)"]
CMD ["mockserver", "serve"]
