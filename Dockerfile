# realorai serve: the light install (ONNX Runtime, no torch), run as a non-root user.
#   docker build -t realorai . && docker run -p 8000:8000 -e REALORAI_API_KEY=change-me realorai
FROM python:3.11-slim

RUN useradd --create-home --uid 10001 realorai
WORKDIR /opt/realorai
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir . && rm -rf /root/.cache

USER realorai
# The default detector's CLIP tower, fetched at build time (sha256-checked) so that a container
# never downloads at start; without it the server would score with the fallback detector-lite0-early.
RUN realorai weights fetch clip-b16 && rm -rf /home/realorai/.cache/pip
# Inside the container the server binds every interface: it then refuses to start without
# REALORAI_API_KEY (clients send it in X-API-Key), as on any host.
ENV REALORAI_HOST=0.0.0.0 \
    REALORAI_PORT=8000 \
    PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["realorai", "serve"]
