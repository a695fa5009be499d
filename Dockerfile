# The API image: Python package + the pinned JS toolchain (solcjs compiles the contracts).
FROM python:3.11-slim
# fonts-wqy-zenhei: the CJK font certificates (PDF) are set in (Chinese names and labels).
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm make fonts-wqy-zenhei \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
# The runtime's locked versions and hashes first (a layer that changes only with the lock).
COPY requirements-server.lock ./
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements-server.lock
COPY pyproject.toml README.md ./
COPY backend ./backend
COPY contracts ./contracts
COPY bin ./bin
RUN pip install --no-cache-dir --no-deps .
ENV CHAINPROOF_PROJECT_ROOT=/app
# Not root: the processes own only their data directory (a volume at /data).
# It writes only there and in the contracts' compile cache (chain/compiler.py).
RUN useradd --system --uid 10001 --home-dir /data --create-home chainproof \
    && mkdir -p /data /app/.cache && chown chainproof:chainproof /data /app/.cache
USER chainproof
ENV CHAINPROOF_DATA_DIR=/data
EXPOSE 8000
CMD ["chainproof", "serve", "--host", "0.0.0.0"]
