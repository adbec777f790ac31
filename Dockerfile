# The mia-arena image. For now it carries the offline scorer (`mia-arena validate|score`) and
# `mia-arena db upgrade` (run from this folder, where alembic.ini is); the web server and
# workers join it as they are built.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/mia-arena

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY workers ./workers
COPY migrations ./migrations
COPY templates ./templates
RUN pip install . && useradd --create-home --uid 10001 arena

USER arena
HEALTHCHECK --interval=30s --timeout=5s CMD ["mia-arena", "--help"]
ENTRYPOINT ["mia-arena"]
CMD ["--help"]
