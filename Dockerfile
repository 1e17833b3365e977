# syntax=docker/dockerfile:1
# One image for every part of Escrutinio; the command names the part (see scripts/part.py):
#   api | grpc | gateway | publisher | worker | snapshots | snapshots-web | locust   (the lines of Procfile)
#   migrate                                            (migrations + catalogue, a Job)
# Build: docker build -t escrutinio:0.1.0 .
# Its final stage has no compiler, no Node and no package manager cache, and runs as uid 10001.
#
# checkov:skip=CKV_DOCKER_2: one image, every part; compose and Kubernetes give each part its own health check or probe.

# --- 1. the dashboard, built with Node ------------------------------------------------
FROM node:22.14.0-bookworm-slim AS dashboard
WORKDIR /frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# --- 2. Python dependencies, compiled where a compiler is allowed ---------------------
FROM python:3.11.11-slim-bookworm AS python-deps
# Debian's security updates replace these versions; pinning them would break rebuilds.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libmariadb-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /tmp/requirements.txt
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt

# --- 3. the runtime: slim Python, the MariaDB client library, our code ----------------
FROM python:3.11.11-slim-bookworm AS runtime
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmariadb3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 escrutinio \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin escrutinio
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BIND_HOST=0.0.0.0
COPY --from=python-deps /opt/venv /opt/venv
WORKDIR /app
COPY . .
COPY --from=dashboard /frontend/dist /app/frontend/dist
# Bytecode and static files are made now: the pods' root filesystem is read-only.
# /var/snapshots belongs to the runtime user, so a volume mounted there (compose) starts writable.
RUN python -m compileall -q /app \
 && ESCRUTINIO_DEV=1 python manage.py collectstatic --noinput -v0 \
 && install -d -o 10001 -g 10001 /var/snapshots
USER 10001:10001
EXPOSE 8000 8001 8002 8003 8089 50051
ENTRYPOINT ["python", "-m", "scripts.part"]
CMD ["api"]
