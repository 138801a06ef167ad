# One image for the ingest and the API (docker-compose.yml picks the command). Server extras
# only (ingest, api, postgres): no workshop, dashboards or client packages. Every dependency
# comes from requirements/server.lock (hashes checked), the versions the test suite runs.
FROM python:3.11-slim
WORKDIR /app
COPY requirements/build.lock requirements/server.lock ./requirements/
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/build.lock \
 && pip install --no-cache-dir --require-hashes --no-deps -r requirements/server.lock
COPY pyproject.toml README.md ./
COPY airq_core ./airq_core
COPY airq ./airq
COPY gateway ./gateway
COPY ingest ./ingest
COPY alerts ./alerts
COPY api ./api
COPY firmware_tools ./firmware_tools
COPY dashboards ./dashboards
RUN pip install --no-cache-dir --no-deps --no-build-isolation .
# the registry (SQLite) and the ingest's rollup state live in the /data volume
RUN mkdir -p /data && chown nobody /data
USER nobody
ENTRYPOINT ["airq"]
