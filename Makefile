# SBAS Interferogram Selector: the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
SYSTEM_PYTHON := /usr/bin/python3
DEBIAN_PACKAGES := qgis python3-qgis python3-gdal gdal-bin python3-pyqt5 \
	xvfb xauth python3-h5py python3-scipy python3-matplotlib python3-venv strace
STAMP := $(VENV)/.setup-stamp
DEMO_DIR ?= demo_output
REAL_STACK ?= ../shared/data/real/mexico_city_cropA
export QT_QPA_PLATFORM := offscreen

.PHONY: setup test test-unit test-qgis test-gui lint demo screenshots bench-sbas bench-classify \
	bench-scale bench-dock \
	train evaluate clean package deploy qgis fuzz matrix matrix-fresh print-debian-packages

setup: ## install what a fresh Debian 12 machine lacks (idempotent)
	@bash scripts/setup_system.sh $(DEBIAN_PACKAGES)
	@$(MAKE) --no-print-directory $(STAMP)

# numpy is the system's (QGIS's, GDAL's, scipy's): pinned to the version Debian installed, 1.x on
# Debian 12, 2.x on Debian 13, so that pip never replaces it with one those were not built for.
SYSTEM_NUMPY = $(shell $(SYSTEM_PYTHON) -c "import numpy; print(numpy.__version__)" 2>/dev/null)
NUMPY_PIN := $(VENV)/numpy-pin.txt

$(STAMP): requirements.txt requirements-dev.txt constraints.txt scripts/link_package.py
	@test -x $(PY) || $(SYSTEM_PYTHON) -m venv --system-site-packages $(VENV)
	@test -n "$(SYSTEM_NUMPY)" || { echo "no numpy in $(SYSTEM_PYTHON): run make setup" >&2; exit 1; }
	echo "numpy==$(SYSTEM_NUMPY)" > $(NUMPY_PIN)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt -c constraints.txt \
		-c $(NUMPY_PIN)
	$(PY) scripts/link_package.py
	@$(PY) -c "import numpy, osgeo.gdal_array, h5py, scipy, onnxruntime, qgis.core; \
		assert numpy.__version__ == '$(SYSTEM_NUMPY)', numpy.__version__"
	@touch $@

lint: setup
	$(VENV)/bin/ruff check .

test: setup lint ## all tiers: unit (core), qgis (headless), gui (real desktop under Xvfb)
	$(PY) -m pytest

test-unit: setup
	$(PY) -m pytest tests/unit

test-qgis: setup
	$(PY) -m pytest tests/qgis

test-gui: setup
	$(PY) -m pytest tests/gui

demo: setup ## the whole job on the bundled sample, no display needed: summary PNG + HTML
	$(VENV)/bin/sbas-selector pipeline $(REAL_STACK) --out $(DEMO_DIR)/pipeline
	rm -rf $(DEMO_DIR)/simulated
	$(VENV)/bin/sbas-selector simulate --out $(DEMO_DIR)/simulated --seed 1 --format all
	$(VENV)/bin/sbas-selector network $(DEMO_DIR)/simulated/hyp3 --no-closure \
		--png $(DEMO_DIR)/baseline_network.png
	$(PY) scripts/render_samples.py --stack $(DEMO_DIR)/simulated/hyp3 \
		--truth $(DEMO_DIR)/simulated/truth/labels.csv --real $(REAL_STACK) \
		--out $(DEMO_DIR)/samples.png
	@echo
	@echo "Demo outputs in $(DEMO_DIR)/:"
	@echo "  pipeline/summary.png and pipeline/summary.html: the real stack classified,"
	@echo "    selected and inverted (open the HTML in a browser);"
	@echo "  pipeline/inversion/velocity.tif: in QGIS, Layer > Add Layer > Add Raster Layer"
	@echo "    (styled by velocity.qml); or run 'make qgis' to open the sample in the plugin;"
	@echo "  baseline_network.png, samples.png, simulated/ (a simulated stack in every format)"

# The plugin zip, checked like plugins.qgis.org; `make deploy` installs it into a profile.
QGIS_PROFILES ?= $(HOME)/.local/share/QGIS/QGIS3/profiles
QGIS_PROFILE ?= default
PACKAGE := dist/sbas_selector.zip

package: setup ## the plugin zip for QGIS's "Install from ZIP" (checked: metadata, bandit, secrets)
	$(PY) scripts/package.py --out $(PACKAGE) --sample $(REAL_STACK)

deploy: setup ## build the zip and install it into a QGIS profile (QGIS_PROFILES/QGIS_PROFILE) and enable it
	$(PY) scripts/package.py --out $(PACKAGE) --sample $(REAL_STACK) \
		--deploy $(QGIS_PROFILES)/$(QGIS_PROFILE)

qgis: deploy ## start the QGIS desktop with the plugin installed and the sample stack loaded
	$(if $(DISPLAY),,xvfb-run -a) env -u QT_QPA_PLATFORM qgis --nologo --noversioncheck \
		--profiles-path $(dir $(QGIS_PROFILES:/=)) --profile $(QGIS_PROFILE) \
		--code scripts/qgis_load_sample.py

# The peers of `make bench-sbas`, each in its own venv (never a runtime dependency): Debian's
# GDAL bindings and numpy (pinned to the system's version, as in .venv), the peer from PyPI.
BENCH_VENV := .bench-venv
MINTPY_VERSION := 1.6.4
INSAR_RS_VENV := .bench-insar-rs-venv
INSAR_RS_VERSION := 0.3.0
DOLPHIN_VENV := .bench-dolphin-venv
DOLPHIN_VERSION := 0.42.9

# $(call peer_venv,VENV,REQUIREMENT)
define peer_venv
	@test -x $(1)/bin/python || $(SYSTEM_PYTHON) -m venv --system-site-packages $(1)
	echo "numpy==$(SYSTEM_NUMPY)" > $(1)/numpy-pin.txt
	$(1)/bin/pip install -q --disable-pip-version-check $(2) -c constraints.txt \
		-c $(1)/numpy-pin.txt
	@touch $(1)/.stamp
endef

$(BENCH_VENV)/.stamp: constraints.txt
	$(call peer_venv,$(BENCH_VENV),mintpy==$(MINTPY_VERSION))

$(INSAR_RS_VENV)/.stamp: constraints.txt
	$(call peer_venv,$(INSAR_RS_VENV),insar-rs==$(INSAR_RS_VERSION))

$(DOLPHIN_VENV)/.stamp: constraints.txt
	$(call peer_venv,$(DOLPHIN_VENV),dolphin==$(DOLPHIN_VERSION))

BENCH_ARGS ?=
bench-sbas: setup $(BENCH_VENV)/.stamp $(INSAR_RS_VENV)/.stamp $(DOLPHIN_VENV)/.stamp ## inversion speed: ours vs the floor vs insar-rs, dolphin, MintPy (not a test)
	$(PY) bench/bench_sbas.py --mintpy-python $(BENCH_VENV)/bin/python \
		--insar-rs-python $(INSAR_RS_VENV)/bin/python \
		--dolphin-python $(DOLPHIN_VENV)/bin/python $(BENCH_ARGS)

TRAIN_VENV := .train-venv
MODEL := models/sbas_selector.onnx
RUN ?= models/runs/cpu
# CPU recipe: 96 px, 14 epochs, about 35 min on 2 cores; on a CUDA machine, for example
# make train TRAIN_ARGS="--size 128 --epochs 40 --batch 64".
TRAIN_ARGS ?= --size 96 --epochs 14

$(TRAIN_VENV)/.stamp: constraints.txt $(STAMP)
	@test -x $(TRAIN_VENV)/bin/python || $(SYSTEM_PYTHON) -m venv --system-site-packages $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/pip install -q --disable-pip-version-check torch==2.14.1 torchvision==0.29.1 \
		onnx==1.23.2 -c constraints.txt -c $(NUMPY_PIN)
	$(TRAIN_VENV)/bin/python scripts/link_package.py
	@touch $@

train: setup $(TRAIN_VENV)/.stamp ## train the classifier (torch, in its own venv) and export ONNX
	OMP_NUM_THREADS=2 PYTHONPATH=models $(TRAIN_VENV)/bin/python models/train.py \
		--build-data --data models/data --out $(RUN) $(TRAIN_ARGS)
	$(PY) models/variants.py $(RUN)/model_fp32.onnx --data models/data
	$(MAKE) fit-evidence

fit-evidence: setup ## fit how the network's evidence is combined with the CNN (into the model's card)
	OMP_NUM_THREADS=2 $(PY) models/fit_evidence.py $(MODEL) --out $(MODEL)
	cp models/runs/evidence/fit.json models/record/evidence_fit.json

evaluate: setup ## the shipped model on the held-out test stacks and the real stack
	OMP_NUM_THREADS=2 $(PY) models/evaluate.py $(MODEL) --out models/evaluation.json

# Full frames on one machine (issue 16): 256² up to a Sentinel-1 frame at 80 m (about 22 GB
# of simulated HyP3 products, kept in SCALE_DATA and reused); SCALE_SIZES=256:30,512:50 for a
# quick look. Not part of make test.
SCALE_SIZES ?= 256:30,512:50,1024:70,2048:90,2500x3000:100
SCALE_DATA ?= bench_data/scale
SCALE_MEMORY_GB ?= 4
bench-scale: setup ## the whole job from 256² to a full frame: time per pair, per GB, peak memory, cost slope
	$(PY) bench/bench_scale.py --sizes $(SCALE_SIZES) --data $(SCALE_DATA) \
		--memory-gb $(SCALE_MEMORY_GB) --out bench_data/scale_results

bench-classify: setup ## end-to-end interferograms per second, CPU (and CUDA where present)
	$(PY) bench/bench_classify.py --model $(MODEL)

bench-dock: setup ## the dock's main-thread time per step at 100 and 400 pairs, and a frame's layer
	$(PY) bench/bench_dock.py --frame

screenshots: setup ## regenerate the README's pictures from the GUI test and the demo
	$(PY) -m pytest tests/gui
	cp tests/gui/output/*.png docs/images/
	$(MAKE) --no-print-directory demo
	cp $(DEMO_DIR)/samples.png docs/images/simulated_vs_real.png
	cp $(DEMO_DIR)/pipeline/summary.png docs/images/pipeline_summary.png

FUZZ_CASES ?= 1200
FUZZ_SEED ?= 1
fuzz: setup ## corrupted stacks of every format (FUZZ_CASES, FUZZ_SEED): no traceback, hang or silent error
	OMP_NUM_THREADS=1 $(PY) -m sbas_selector.tests.fuzz.harness --cases $(FUZZ_CASES) \
		--seed $(FUZZ_SEED) --workers 2 --out fuzz_summary.json

# The version matrix (root only: debootstrap, chroot): the tiers inside Debian roots of each suite,
# cached in ~/.cache/sbas-selector/roots. trixie = Debian 13 (QGIS 3.40), sid = unstable (3.44).
MATRIX_SUITES ?= trixie sid
MATRIX_TARGET ?= test
matrix: ## run make $(MATRIX_TARGET) in a Debian root per suite of MATRIX_SUITES (logs: build/matrix)
	@bash scripts/setup_system.sh debootstrap zstd
	bash scripts/debian_matrix.sh --target "$(MATRIX_TARGET)" $(MATRIX_SUITES)

matrix-fresh: ## make demo and test from a root with nothing but make and git (no cache)
	@bash scripts/setup_system.sh debootstrap zstd
	bash scripts/debian_matrix.sh --fresh --target "demo test" $(MATRIX_SUITES)

print-debian-packages:
	@echo $(DEBIAN_PACKAGES)

clean:
	rm -rf $(DEMO_DIR) dist .pytest_cache .ruff_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
