# Two commands on a fresh machine: `make run` (smoke profile end to end on CPU)
# and `make test`. Both set the environment up from the committed uv.lock.
SHELL := /bin/bash
UV_VERSION := 0.13.8
# uv runs as a Python module so it is found wherever pip put it.
UV := python3 -m uv
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= smoke
ARGS ?=

.PHONY: setup run run-containers build-vlm kube-binaries test lint bench bench-quality gpu-bench-prep clean-runs

# The stamp makes `make` re-sync only when the lockfile or pyproject changes.
$(VENV)/.synced: pyproject.toml uv.lock
	$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --frozen --python 3.11
	touch $@

setup: $(VENV)/.synced

# The smoke profile through kfp's local runner: the same components and DAG
# as on a cluster, every artifact on disk. `glov run` without --local runs the
# same search in one process.
run: setup
	$(PY) -m cli.main run --local --config $(PROFILE) $(ARGS)

# The same DAG with each task in its image (glov-cpu, glov-gpu: `make images`
# first) through kfp's DockerRunner, as non-root with a read-only root file
# system (pipelines/containers.py). DOCKER_HOST picks the daemon.
run-containers: setup
	$(PY) -m cli.main run --local --containers --config $(PROFILE) $(ARGS)

# The smoke profile's VLM (build://lit-animal-mnist): trained once into
# run.cache_dir, about a minute on 2 CPU cores. `make run` builds it on first use
# anyway; this does it up front and prints what it scored.
build-vlm: setup
	OMP_NUM_THREADS=2 $(PY) -m cli.main build-vlm --config $(PROFILE) $(ARGS)

# kube-apiserver, etcd and Kueue's controller for the operator tests against a
# real API server (docs/testing.md), built from the Go module proxy at the
# versions pinned in tests/servers/kube_modules/*/go.mod into
# ~/.cache/glov-kfp/kube-binaries; reused in about a second when nothing changed.
# The first build takes tens of minutes on 2 cores, so it runs here, outside
# pytest's per-test timeout; CI calls it as a step of its own.
kube-binaries: setup
	$(PY) -m tests.servers.kube_binaries

# One OpenMP thread per process: test processes and servers share 2 cores, and
# oversubscribed OpenMP threads spin (measured: up to 15x slower). Tests are
# single-threaded, so TEST_WORKERS pytest-xdist workers (one per core here)
# run test files side by side; the slowest are listed at the end.
TEST_WORKERS ?= 2
test: setup kube-binaries
	OMP_NUM_THREADS=1 $(VENV)/bin/pytest -q --timeout=900 -n $(TEST_WORKERS) --dist loadfile --durations=15

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

bench: setup
	$(PY) -m bench.run --out bench/results.json

# For the GPU bench on a lent device machine (docs/benchmarks.md, "GPU bench"): SmolLM2's
# tokenizer and the wheels its Python lacks (pydantic, for glov.config), both
# carried with the run; the device has torch and transformers of its own.
GPU_WHEELS := pydantic==2.14.3 pydantic-core==2.50.4 annotated-types==0.8.0 typing-inspection==0.4.5
gpu-bench-prep: setup
	$(PY) -m bench.bench_gpu --save-tokenizer .cache/gpu-bench/tokenizer
	python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
		--implementation cp --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
		-d .whl $(GPU_WHEELS)

# The paper's table in miniature (bench/quality.{json,md,png}): S-TEMP, DS-TEMP,
# LLM-OPT, GLOV without and with guidance over 3 seeds; about an hour on 2 CPU
# cores. ARGS passes options through, e.g. ARGS="--quick" (1 seed, 2 steps).
bench-quality: setup
	OMP_NUM_THREADS=2 $(PY) -m bench.quality --out bench/quality.json $(ARGS)

# --- Deployment (issue: images, manifests) -----------------------------------
OVERLAY ?= manifests/overlays/standalone
IMAGE_VARS = $(shell $(if $(filter-out undefined,$(origin REGISTRY)),REGISTRY='$(REGISTRY)') $(PY) -m components.images)
VERSION = $(patsubst VERSION=%,%,$(filter VERSION=%,$(IMAGE_VARS)))
GPU_IMAGE = $(patsubst GPU_IMAGE=%,%,$(filter GPU_IMAGE=%,$(IMAGE_VARS)))
CPU_IMAGE = $(patsubst CPU_IMAGE=%,%,$(filter CPU_IMAGE=%,$(IMAGE_VARS)))

.PHONY: images check-containers push deploy run-s3 compile

# Pipeline YAMLs of every shipped profile, to upload in the Kubeflow UI.
compile: setup
	mkdir -p build/pipelines
	for p in $$($(PY) -c "from glov.config import profile_names; print(*profile_names())"); do \
	  $(PY) -m cli.main compile --config $$p -o build/pipelines/$$p.yaml || exit 1; done

# Both images with BuildKit (images/build.sh): from the registry's base images,
# or, where no registry answers, from base images it first builds out of Debian
# packages (images/base-images.sh). DOCKER: a CLI that builds with BuildKit
# (Debian's /usr/bin/docker, or one with buildx); CA_BUNDLE: the CA bundle the
# builder's downloads need behind a TLS-inspecting proxy (default $$SSL_CERT_FILE).
DOCKER ?= docker
images: setup
	PY=$(PY) DOCKER=$(DOCKER) images/build.sh

# The built images checked, and a containers smoke run (2 steps) against a real
# S3 server on 127.0.0.1 compared with the subprocess runner's (images/checks/).
# Needs Docker and `make images`; `make test` never touches Docker.
check-containers: setup
	DOCKER=$(DOCKER) $(VENV)/bin/pytest -q -p no:cacheprovider --timeout=3600 images/checks

push: images
	$(DOCKER) push $(GPU_IMAGE)
	$(DOCKER) push $(CPU_IMAGE)

deploy:
	@if kubectl kustomize $(OVERLAY) | grep -qE ': REPLACE_ME$$'; then \
	  echo "$(OVERLAY) still holds REPLACE_ME secrets: deploy an untracked overlay (see manifests/README.md)" >&2; exit 1; fi
	kubectl apply -k $(OVERLAY)

# Serve a local S3 server (nanio) on 127.0.0.1:9000 for trying the s3:// store.
run-s3: setup
	scripts/run_s3.sh
