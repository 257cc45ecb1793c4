# Production image: the service under gunicorn, auth required by default, non-root, data in /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    CDS_HOOKS_DIR=/app/hooks \
    CDS_DATABASE_URL=sqlite:////data/cds.sqlite3 \
    CDS_AUTH_MODE=required

WORKDIR /app
COPY pyproject.toml README.md ./
COPY cds_service ./cds_service
COPY hooks ./hooks
RUN pip install . \
 && useradd --system --uid 10001 cds \
 && mkdir -p /data && chown cds /data

USER cds
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"
# Worker processes come from CDS_WORKERS (default 2).
CMD ["cds-service", "serve", "--host", "0.0.0.0", "--port", "8080"]
