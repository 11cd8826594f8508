# Production image. The first run (migrate, import the templates, create the first administrator, serve with a
# writable /data volume, FORWARDED_ALLOW_IPS behind a proxy) is in README.md, "Running with Docker". One image,
# two commands: `emonev serve` (the default) and `emonev worker` (the jobs; README.md, "Jobs and workers", and
# compose.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    EMONEV_ENVIRONMENT=production \
    EMONEV_DEMO_DATA=false \
    EMONEV_EVIDENCE_DIR=/data/evidence \
    EMONEV_JOB_FILES_DIR=/data/job-files

WORKDIR /srv/emonev

# Dependencies in their own layer: only pyproject.toml changes invalidate it.
COPY pyproject.toml README.md ./
RUN mkdir -p app scoring && touch app/__init__.py scoring/__init__.py \
    && pip install . \
    && pip uninstall -y emonev

COPY app ./app
COPY scoring ./scoring
COPY migrations ./migrations
COPY questionnaires ./questionnaires
COPY alembic.ini ./
RUN pip install --no-deps -e . \
    && useradd --system --uid 10001 --home-dir /srv/emonev emonev \
    && mkdir -p /data/evidence /data/job-files && chown -R emonev /data

USER emonev
EXPOSE 8000
VOLUME ["/data"]
# The image has Python but no curl: ask /healthz with the standard library (an error or a timeout exits 1).
# For `emonev serve`; a worker answers no HTTP (compose.yaml turns the check off for it).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
CMD ["emonev", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
