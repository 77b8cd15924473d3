# One image for the dashboard, the API and the nightly worker; docker-compose picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PDE_DATA_DIR=/data
WORKDIR /app

COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY pyproject.toml README.md ./
COPY src ./src
COPY sql ./sql
COPY config ./config
COPY dashboard ./dashboard
RUN pip install --no-cache-dir --no-deps -e . \
    && useradd --create-home --uid 10001 pde && mkdir -p /data && chown pde /data
USER pde

CMD ["pde", "--help"]
