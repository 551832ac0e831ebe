# covary image: Ray base image + covary and its pinned dependencies. The same image runs the Ray head,
# workers, Serve replicas and job submitters (see helm/covary). Build: docker build -t covary:0.1.0 .
FROM rayproject/ray:2.60.0-py311

WORKDIR /home/ray/covary
# Dependencies first (cached layer); torch's CPU build is used unless you pass a CUDA index at build time.
COPY --chown=1000:100 pyproject.toml setup.py MANIFEST.in requirements.lock README.md ./
RUN mkdir -p covary connectors lakehouse jobs serve charts \
 && touch covary/__init__.py connectors/__init__.py lakehouse/__init__.py jobs/__init__.py serve/__init__.py charts/__init__.py \
 && pip install --no-cache-dir -c requirements.lock -e . \
 && rm -rf covary connectors lakehouse jobs serve charts
COPY --chown=1000:100 covary covary
COPY --chown=1000:100 connectors connectors
COPY --chown=1000:100 lakehouse lakehouse
COPY --chown=1000:100 jobs jobs
COPY --chown=1000:100 serve serve
COPY --chown=1000:100 charts charts
# The Helm chart: `covary deploy` in the image finds it here (a wheel carries it as charts/deploy/chart).
COPY --chown=1000:100 helm helm
ENV PYTHONPATH=/home/ray/covary \
    HF_HUB_OFFLINE=1 \
    COVARY_HOME=/tmp/covary
USER 1000
