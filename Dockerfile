# One image for the ingest and the API (docker-compose.yml picks the command).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY airq_core ./airq_core
COPY airq ./airq
COPY gateway ./gateway
COPY ingest ./ingest
COPY api ./api
COPY firmware_tools ./firmware_tools
COPY dashboards ./dashboards
RUN pip install --no-cache-dir ".[all]"
# the registry (SQLite) and the ingest's rollup state live in the /data volume
RUN mkdir -p /data && chown nobody /data
USER nobody
ENTRYPOINT ["airq"]
