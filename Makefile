# EmoHeal — the project's commands. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := git ca-certificates fluidsynth fluid-soundfont-gm ffmpeg chromium chromium-driver postgresql
PROFILE ?= quickstart
export PATH := $(CURDIR)/$(BIN):$(PATH)
# Offline by design: nothing may fetch weights or data from a hub at run time.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
# BentoML's model store and Bentos live in the project unless the caller points elsewhere.
export BENTOML_HOME ?= $(CURDIR)/.bentoml
export BENTOML_DO_NOT_TRACK := True
SERVE_PORT ?= 3000

.PHONY: help setup apt venv params have-params dvc run reference test test-all lint serve bento bento-models wheel bench bench-run candidates monitor mlflow-ui lock clean

help:
	@echo "make setup      Debian packages + .venv from requirements/lock.txt (idempotent)"
	@echo "make run        setup, compose params.yaml for PROFILE=$(PROFILE), then the whole pipeline (dvc repro)"
	@echo "make params     compose params.yaml for PROFILE=$(PROFILE) only; no other target rewrites it"
	@echo "make dvc        dvc with .venv/bin on PATH (stages call python): make dvc ARGS=\"exp run -S corpus=full\""
	@echo "make reference  the full-corpus figures (metrics/reference/*.json) as a DVC experiment in a temp copy (after make run)"
	@echo "make test       setup, then the test suite (what CI runs)"
	@echo "make test-all   setup, then every test, slow ones included"
	@echo "make lint       ruff"
	@echo "make serve      the BentoML service + web page on http://127.0.0.1:$(SERVE_PORT) (after make run)"
	@echo "make bento      import the MLflow champion, graph, index, media; build the Bento (offline)"
	@echo "make monitor    Evidently drift report + tests over the service's last 24 h of records (exit 1 on a failure)"
	@echo "make mlflow-ui  the MLflow UI over the local store (http://127.0.0.1:5000)"
	@echo "make bench      benchmarks: KG plan latency, corpus render/describe speed, emotion inference, crisis screen"
	@echo "make bench-run  make run's wall time from a fresh clone, per stage (30-40 min; run nothing else meanwhile)"
	@echo "make candidates the emotion fine-tuning recipes, each trained and scored on dev (docs/emotion_candidates.md; hours)"
	@echo "make lock       re-resolve requirements/base.in into requirements/lock.txt"

setup: apt venv

# apt-get only when a package is missing, so a second `make setup` is instant.
apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: requirements/lock.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# pip's exit status is kept; only the noise about this machine's extra index folders is filtered
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements/lock.txt 2> >(grep -v "^WARNING: Location" >&2)
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e . 2> >(grep -v "^WARNING: Location" >&2)
	@$(BIN)/python -c "import emoheal, torch, torchaudio, lightning, transformers, mlflow, dvc, soundfile, pretty_midi" || { echo "setup failed: the venv does not import"; exit 1; }
	@touch $@

# params.yaml for the chosen profile (DVC does the same itself on `dvc exp run -S ...`). Only `run`
# (and `make params`) compose it: every other target reads the params.yaml it finds, so a
# `make run PROFILE=paper` or a `dvc exp run -S ...` workspace keeps its parameters.
params: setup
	$(BIN)/emoheal params profile=$(PROFILE) -o params.yaml

# For targets that read params.yaml but must not recompose it (PROFILE would overwrite an experiment's).
have-params:
	@test -f params.yaml || { echo "no params.yaml here: run \`make run\` (or \`make params PROFILE=...\`) first" >&2; exit 1; }

# DVC with the venv first on PATH (exported above): the stage commands call a bare `python`, which
# outside it is the system's, without emoheal (ModuleNotFoundError in the first stage).
dvc: setup
	$(BIN)/dvc $(ARGS)

run: params
	@start=$$(date +%s); \
	dvc repro && emoheal metrics && \
	echo "pipeline wall time: $$(( $$(date +%s) - start )) s" && \
	emoheal detect "I can't fall asleep, I keep worrying about tomorrow's exam." "Thank you so much, this made my day!" && \
	emoheal safety screen "I can't fall asleep, I keep worrying about tomorrow's exam." "bought a rope today, tonight after everyone is asleep" && \
	echo "(a session; --check-in no answers the check-in question if the crisis screen asks it)" && \
	emoheal session --check-in no "I can't fall asleep, I keep worrying about tomorrow's exam."

# The full-corpus reference figures the README quotes (metrics/reference/*.json): corpus=full as a DVC
# experiment in a temporary copy, so params.yaml, dvc.lock and models/ here stay as they are. The logic
# (which stages, which files, provenance) is in the script, not here.
# Each recipe in conf/experiments/emotion_candidates.yaml trained in full and scored on dev, one MLflow
# run each; a candidate already trained (models/candidates/<name>) is only rescored. CANDIDATES=a b: some.
candidates: setup
	$(BIN)/emoheal candidates $(CANDIDATES)

reference: setup have-params
	$(BIN)/python pipelines/reference.py

test: setup
	$(BIN)/python -m pytest

test-all: setup
	$(BIN)/python -m pytest -m "slow or not slow"

lint: setup
	$(BIN)/ruff check src pipelines serving tests benchmarks

# The MLflow registry's champion + graph + index + media into the BentoML model store.
bento-models: setup have-params
	$(BIN)/emoheal bento import

wheel: setup
	rm -rf dist && $(BIN)/python -m pip wheel -q --no-deps --no-build-isolation -w dist . 2> >(grep -v "^WARNING: Location" >&2)

# bentofile.yaml takes the wheel from EMOHEAL_WHEEL, so its name (the version) is written nowhere.
bento: bento-models wheel
	EMOHEAL_WHEEL=$$(ls dist/emoheal-*.whl) $(BIN)/bentoml build -f serving/bentofile.yaml .
	@echo "containerise where Docker runs: bentoml containerize emoheal:latest (see README)"

serve: setup
	@test -d "$(BENTOML_HOME)/models/emoheal-session" || $(MAKE) bento-models
	$(BIN)/bentoml serve serving.service:EmoHeal --host 127.0.0.1 --port $(SERVE_PORT)

monitor: setup have-params
	$(BIN)/emoheal monitor $(if $(SINCE),--since $(SINCE))

mlflow-ui: setup
	$(BIN)/mlflow ui --backend-store-uri $${MLFLOW_TRACKING_URI:-sqlite:///$(CURDIR)/mlflow/mlflow.db} \
		--default-artifact-root $(CURDIR)/mlflow/artifacts --host 127.0.0.1 --port 5000

lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install -q -r requirements/base.in
	.lockenv/bin/pip freeze --exclude-editable | grep -v "^emoheal" > requirements/lock.txt
	@# the serving lock (what the Bento installs): serving.in resolved with lock.txt as constraints, so
	@# its pins are lock.txt's; a dry run, so nothing more is installed
	.lockenv/bin/pip install -q --dry-run --ignore-installed --report .lockenv/serving.json \
		-c requirements/lock.txt -r requirements/serving.in
	.lockenv/bin/python requirements/subset_lock.py .lockenv/serving.json requirements/lock.txt \
		requirements/serving.in > .lockenv/serving.txt
	mv .lockenv/serving.txt requirements/serving.txt
	rm -rf .lockenv

# `make run` from a fresh clone of HEAD, timed stage by stage (benchmarks/results/fresh_clone_run.json)
bench-run: setup
	$(BIN)/python benchmarks/fresh_clone_run.py

bench: setup
	$(BIN)/python benchmarks/kg_plan.py
	$(BIN)/python benchmarks/corpus_speed.py
	$(BIN)/python benchmarks/clamp3_speed.py
	$(BIN)/python benchmarks/retrieval_speed.py
	$(BIN)/python benchmarks/session_speed.py
	$(BIN)/python benchmarks/emotion_inference.py
	$(BIN)/python benchmarks/monitoring_drift.py
	$(BIN)/python benchmarks/safety_screen.py
	@test -d "$(BENTOML_HOME)/models/emoheal-session" || $(MAKE) bento-models
	$(BIN)/python benchmarks/serving_latency.py
	$(BIN)/python benchmarks/serving_latency.py --locust
	$(BIN)/python benchmarks/store_latency.py

clean:
	rm -rf .cache models/checkpoints
