# Relecture's image for the web server and the CPU worker; the GPU workers' image is the same
# with REQUIREMENTS=requirements-gpu.txt and a CUDA TORCH_INDEX (docker-compose.yml's gpu-worker).
FROM python:3.11-slim-bookworm

# STATIC_ROOT inside the image: collectstatic below fills it, WhiteNoise serves it at run time
# (the default, under RELECTURE_VAR_DIR, is the data volume, which the build never sees).
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 STATIC_ROOT=/app/staticfiles
RUN apt-get update \
    && apt-get install -y --no-install-recommends apertium apertium-eng-spa apertium-fr-es \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt requirements-gpu.txt ./
# The CPU wheel index keeps the web/worker image free of the CUDA build of torch; the GPU
# image passes a CUDA index, and pip takes torch==2.13.0 as 2.13.0+cuXXX from there.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ARG REQUIREMENTS=requirements.txt
RUN pip install --extra-index-url ${TORCH_INDEX} -r ${REQUIREMENTS}
COPY . .
# Hashed, compressed copies of every static file (WhiteNoise's manifest storage, settings.STORAGES).
RUN DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput
EXPOSE 8000
# The layout docker-compose.yml uses (docs/performance.md, "Audit: gunicorn layout").
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--workers", "2", "--threads", "6"]
