# The mia-arena image. For now it carries the offline scorer (`mia-arena validate|score`);
# the web server and workers join it as they are built.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/mia-arena

COPY pyproject.toml README.md ./
COPY app ./app
COPY workers ./workers
RUN pip install . && useradd --create-home --uid 10001 arena

USER arena
HEALTHCHECK --interval=30s --timeout=5s CMD ["mia-arena", "--help"]
ENTRYPOINT ["mia-arena"]
CMD ["--help"]
