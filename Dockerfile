# syntax=docker/dockerfile:1
#
# chatapp: Django + Channels served by daphne, static files by WhiteNoise.
#
#   docker build -t chatapp .
#   docker compose run --rm app python manage.py migrate   # once per release, not per start
#   docker compose up -d
#
# The README's "Production" section has the whole story.

ARG PYTHON_IMAGE=python:3.13-slim-bookworm

# ---- build: a virtualenv with the dependencies from pyproject.toml ----------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

COPY pyproject.toml README.md ./
COPY chatapp ./chatapp
# Install the project's dependencies, then drop the project itself: the app
# runs from /app (templates/ and static/ live beside the package, not in it).
# EXTRA_PACKAGES adds optional ones, e.g. "django-storages[s3]" for
# MEDIA_STORAGE=s3 (docker compose build --build-arg EXTRA_PACKAGES=...).
ARG EXTRA_PACKAGES=""
RUN pip install --no-cache-dir . ${EXTRA_PACKAGES} \
    && pip uninstall --yes chatapp

# ---- runtime ----------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=chatapp.settings \
    DEBUG=0 \
    BEHIND_TLS_PROXY=1 \
    LOG_FORMAT=json \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/data/media \
    DATABASE_URL=sqlite:////data/db.sqlite3

RUN groupadd --system --gid 10001 chatapp \
    && useradd --system --uid 10001 --gid chatapp --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin chatapp

WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY manage.py ./
COPY chatapp ./chatapp
COPY templates ./templates
COPY static ./static

# Hashed, compressed static files are part of the image (WhiteNoise serves
# them). The key below exists only for this one command; it is not stored in
# the image and the running app refuses to start without its own SECRET_KEY.
# /data is the app user's: /app is not writable, so the default SQLite
# database (DATABASE_URL above; compose sets PostgreSQL) and uploads live there.
RUN SECRET_KEY=collectstatic-only-not-a-real-key python manage.py collectstatic --noinput \
    && mkdir -p /data/media \
    && chown -R chatapp:chatapp /data

USER 10001:10001
EXPOSE 8000
VOLUME ["/data"]

# /healthz answers while the process serves (no database, any Host header).
# No proxy: HTTP_PROXY, set for the gateway requests, would take the probe too.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

# --proxy-headers: the client address and scheme come from the reverse
# proxy's X-Forwarded-For / X-Forwarded-Proto (the app is reachable only
# through it). -v 0: no plain-text access log; the app logs JSON lines itself.
CMD ["python", "-m", "chatapp.serve", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "-v", "0", "chatapp.asgi:application"]
