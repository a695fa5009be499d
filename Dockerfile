# The API image: Python package + the pinned JS toolchain (solcjs compiles the contracts).
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY pyproject.toml README.md ./
COPY backend ./backend
COPY contracts ./contracts
COPY bin ./bin
RUN pip install --no-cache-dir .
ENV CHAINPROOF_PROJECT_ROOT=/app
EXPOSE 8000
CMD ["chainproof", "serve", "--host", "0.0.0.0"]
