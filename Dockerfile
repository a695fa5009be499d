# The API image: Python package + the pinned JS toolchain (solcjs compiles the contracts).
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm make \
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
EXPOSE 8000
CMD ["chainproof", "serve", "--host", "0.0.0.0"]
