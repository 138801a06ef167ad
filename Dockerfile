# One image for the ingest and the API (docker-compose.yml picks the command). Server extras
# only (ingest, api, postgres): no workshop, dashboards or client packages. Every dependency
# comes from requirements/server.lock (hashes checked), the versions the test suite runs.
# The public map's browser libraries, from the npm lock (never copied into the repository)
FROM node:20-slim AS pages
WORKDIR /pages
COPY api/static/package.json api/static/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

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
COPY --from=pages /pages/node_modules ./api/static/node_modules
COPY firmware_tools ./firmware_tools
COPY dashboards ./dashboards
RUN pip install --no-cache-dir --no-deps --no-build-isolation .
# the registry (SQLite) and the ingest's rollup state live in the /data volume
RUN mkdir -p /data && chown nobody /data
USER nobody
ENTRYPOINT ["airq"]
