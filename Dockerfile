# chain-ledger: docker build -t chain-ledger . && docker run -p 8000:8000 -v ledger-data:/data chain-ledger
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LEDGER_DATABASE_URL=sqlite:////data/chain-ledger.db

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY service ./service
COPY migrations ./migrations
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin ledger \
    && mkdir -p /data && chown ledger:ledger /data

USER ledger
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]

# Migrates the database, then serves. Create a token with: docker exec <ctr> chain-ledger token create --role admin --name me
CMD ["chain-ledger", "serve", "--host", "0.0.0.0", "--port", "8000"]
