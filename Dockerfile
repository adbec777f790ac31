# The mia-arena image: the web server, the scoring workers, the sweeper, migrations and the
# offline scorer, one image for all (docker-compose.yml runs each as a service).
#   docker build -t mia-arena .
#   docker run --rm mia-arena --help
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv/mia-arena

# The dependencies first, from pyproject.toml alone (with empty packages), so that changing
# the code does not install them again.
COPY pyproject.toml README.md ./
RUN mkdir app workers && touch app/__init__.py workers/__init__.py \
    && pip install . && pip uninstall --yes mia-arena \
    && rm -rf app workers build *.egg-info

COPY alembic.ini ./
COPY migrations ./migrations
COPY templates ./templates
# MIDST's shipped definitions: `competitions create` and bundle imports load them from here.
COPY definitions ./definitions
COPY workers ./workers
COPY app ./app
# Editable: the code runs from this folder, where it finds templates/, definitions/,
# alembic.ini and migrations/ beside it.
RUN pip install --no-deps --editable . \
    && useradd --create-home --uid 10001 --user-group arena

# Production by default: SECRET_KEY must then be set, and logs are JSON lines on stderr.
# The web server's processes share their Prometheus counters in PROMETHEUS_MULTIPROC_DIR.
ENV ENVIRONMENT=production \
    PROMETHEUS_MULTIPROC_DIR=/tmp/mia-metrics
USER arena
EXPOSE 8000

# Liveness of the web server (no curl in slim images: Python's urllib). The workers and the
# sweeper serve no HTTP; docker-compose.yml turns this check off for them.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

ENTRYPOINT ["mia-arena"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
