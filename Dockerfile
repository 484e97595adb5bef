# Taskdeck image: the npm assets come from a first stage, the runtime has only
# requirements.txt installed and runs gunicorn as an unprivileged user.

FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && mkdir -p vendor/swagger-ui \
 && cp node_modules/htmx.org/dist/htmx.min.js vendor/htmx.min.js \
 && cp node_modules/htmx-ext-sse/dist/sse.min.js vendor/htmx-ext-sse.min.js \
 && cp node_modules/@picocss/pico/css/pico.min.css vendor/pico.min.css \
 && cp node_modules/sortablejs/Sortable.min.js vendor/Sortable.min.js \
 && cp node_modules/swagger-ui-dist/swagger-ui.css node_modules/swagger-ui-dist/swagger-ui-bundle.js \
      vendor/swagger-ui/

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000
WORKDIR /app
# libmagic: attachments' types are detected from their content (python-magic).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmagic1=1:5.44-3 \
 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY webapp/ webapp/
COPY templates/ templates/
COPY static/ static/
COPY migrations/ migrations/
COPY wsgi.py gunicorn.conf.py ./
COPY --from=assets /build/vendor/ static/vendor/
RUN useradd --system --uid 10001 --no-create-home taskdeck \
 && mkdir -p instance/attachments && chown -R taskdeck instance
USER 10001
EXPOSE 8000
# The same command as `make serve` (migrations run as a separate step: see compose.yaml).
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
