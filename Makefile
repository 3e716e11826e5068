# Shortcuts to the same commands as ./dev (see README.md), and the entry points that need more
# than Python: the notebook container images.
.PHONY: test lint format unit static pack bench integration deploy images-list diagram reference \
	cos-overlay airgap-overlay

test:
	./dev test
lint format unit static pack bench integration:
	./dev tox -e $@
deploy:
	./dev deploy

images-list:
	./dev tox -q -e images-list

diagram:
	./dev tox -q -e diagram

reference:
	./dev tox -q -e reference

cos-overlay:
	./dev tox -q -e cos-overlay

airgap-overlay:
	./dev tox -q -e airgap-overlay

# Notebook images (images/):
#   make images            build, smoke-test (inside each image) and push the notebook images
#   make images-build      build only;  make images-push  push only
#   make images-smoke      the CI smoke tests: virtual environments from the pinned requirements
#   make images-bench      stock vs Intel-optimized benchmark table (images/bench/bench.py);
#                          BENCH_ARGS="--only price" (or classical, tensorflow) runs one suite
#   make images-requirements   recompile the pinned requirements.txt files
#
# REGISTRY and TAG name the images (REGISTRY/NAME:TAG); ENGINE may be docker or podman.

REGISTRY ?= ghcr.io/data-science-platform
TAG ?= v1.10.0-1
ENGINE ?= docker
PLATFORM ?= linux/amd64
NOTEBOOK_IMAGES := jupyter-scipy-intel jupyter-tensorflow-intel jupyter-pytorch-intel
UV ?= uv

.PHONY: images images-build images-push images-check images-smoke images-bench images-requirements

images: images-build images-check images-push

images-build: $(NOTEBOOK_IMAGES:%=build-%)

images-check: $(NOTEBOOK_IMAGES:%=check-%)

images-push: $(NOTEBOOK_IMAGES:%=push-%)

build-%:
	$(ENGINE) build --platform $(PLATFORM) -f images/$*/Dockerfile -t $(REGISTRY)/$*:$(TAG) images

# The image's own smoke test, then a start as Kubeflow starts it (empty home, NB_PREFIX).
check-%:
	$(ENGINE) run --rm --entrypoint python3 $(REGISTRY)/$*:$(TAG) /opt/intel-notebook/smoke_test.py
	ENGINE=$(ENGINE) images/check-start.sh $(REGISTRY)/$*:$(TAG)

push-%:
	$(ENGINE) push $(REGISTRY)/$*:$(TAG)

images-smoke:
	./dev tox -e images

# The table goes to stdout, progress to stderr; uv (which ./dev installs in .tools/bin) builds
# the benchmark's environments.
BENCH_ARGS ?=
images-bench:
	@PATH="$(CURDIR)/.tools/bin:$$PATH" python3 images/bench/bench.py $(BENCH_ARGS)

PIP_COMPILE = $(UV) pip compile --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	--custom-compile-command "make images-requirements"

images-requirements:
	cd images/jupyter-scipy-intel && $(PIP_COMPILE) requirements.in -o requirements.txt
	cd images/jupyter-tensorflow-intel && $(PIP_COMPILE) requirements.in -o requirements.txt
	cd images/bench && $(PIP_COMPILE) requirements-stock.in -o requirements-stock.txt
	@echo "images/jupyter-pytorch-intel/requirements.txt is kept by hand (see its header)"
