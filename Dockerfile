# Relecture's image for the web server and the CPU worker. GPU workers build FROM this
# image and add requirements-gpu.txt (vLLM and its CUDA stack) on a GPU host.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends apertium apertium-eng-spa apertium-fr-es \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt requirements-gpu.txt ./
# The CPU wheel index keeps the web/worker image free of the CUDA build of torch.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN pip install --extra-index-url ${TORCH_INDEX} -r requirements.txt
ARG GPU=0
RUN if [ "$GPU" = "1" ]; then pip install -r requirements-gpu.txt; fi
COPY . .
RUN DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput
EXPOSE 8000
# The layout docker-compose.yml uses (docs/performance.md, "Audit: gunicorn layout").
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--workers", "2", "--threads", "6"]
