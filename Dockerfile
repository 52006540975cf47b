# chain-ledger: docker build -t chain-ledger . && docker run -p 8000:8000 -v ledger-data:/data chain-ledger
# Reproducible: an exact base image and the exact, hash-checked versions of requirements.lock (scripts/lock.sh
# refreshes it); nothing else is fetched. tests/test_deploy_files.py checks that this file, requirements.lock,
# pyproject.toml and compose.yaml agree.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LEDGER_DATABASE_URL=sqlite:////data/chain-ledger.db

WORKDIR /app
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md alembic.ini ./
COPY service ./service
COPY migrations ./migrations
RUN pip install --no-deps --no-build-isolation --no-index . \
    && pip check \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin ledger \
    && mkdir -p /data && chown ledger:ledger /data

USER ledger
# The data folder: the SQLite file (and, on any database, the generated secrets) live here.
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000

# Ready = the process answers and its database does (/readyz); /healthz would only show the process is up.
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status == 200 else 1)"]

# Migrates the database (under a lock: several instances may start at once), then serves.
# Create a token with: docker exec <ctr> chain-ledger token create --role admin --name me
CMD ["chain-ledger", "serve", "--host", "0.0.0.0", "--port", "8000"]
