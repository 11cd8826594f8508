# Production image. Migrations are a separate command:
#   docker run --rm -e EMONEV_DATABASE_URL=... emonev emonev db upgrade
#   docker run -p 8000:8000 -e EMONEV_DATABASE_URL=... -e EMONEV_SECRET_KEY=... emonev
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    EMONEV_ENVIRONMENT=production \
    EMONEV_DEMO_DATA=false \
    EMONEV_EVIDENCE_DIR=/data/evidence

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
    && mkdir -p /data/evidence && chown -R emonev /data

USER emonev
EXPOSE 8000
VOLUME ["/data"]
CMD ["uvicorn", "app.main:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--proxy-headers"]
