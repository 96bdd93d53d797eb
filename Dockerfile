# Kefu gateway: one node. Several of them behind a load balancer share PostgreSQL, Redis
# and KEFU_SECRET (see docs/deploy.md and deploy/docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KEFU_HOST=0.0.0.0 \
    KEFU_PORT=8000 \
    KEFU_DATA_DIR=/var/lib/kefu \
    KEFU_WEB_DIR=/opt/kefu/web_client

WORKDIR /opt/kefu

# A non-root user that owns only the data folder (SQLite file when no database URL is
# given, generated secret when KEFU_SECRET is unset, translation models).
RUN groupadd --system --gid 10001 kefu \
 && useradd --system --uid 10001 --gid kefu --home-dir /var/lib/kefu --shell /usr/sbin/nologin kefu \
 && mkdir -p /var/lib/kefu \
 && chown kefu:kefu /var/lib/kefu

# Dependencies first, so that a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p server signaling translation \
 && touch server/__init__.py signaling/__init__.py translation/__init__.py \
 && pip install . \
 && pip uninstall -y kefu \
 && rm -rf server signaling translation build *.egg-info

COPY server ./server
COPY signaling ./signaling
COPY translation ./translation
RUN pip install --no-deps . && rm -rf build *.egg-info
# The web client (widget, console, SDK) is served from files, not from the package.
COPY web_client ./web_client

USER kefu
VOLUME ["/var/lib/kefu"]
EXPOSE 8000

# Alive = the process answers; /readyz (store and bus reachable) is for load balancers.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('KEFU_PORT', '8000'), timeout=2).status != 200)"]

# `serve` applies the database migrations before it listens; it reads KEFU_HOST and
# KEFU_PORT (above) and every other KEFU_* setting from the environment.
CMD ["kefu", "serve"]
