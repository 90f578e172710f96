# Two commands matter: `make deploy` (pulumi up) and `make test` (everything offline). `make` alone lists the rest.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REQUIREMENTS := requirements.txt requirements-dev.txt requirements-local.txt constraints.txt
# A second venv with the deployed image's transformers (5.5.3), for the tests of model_artifact/code/inference.py.
IMAGE_VENV := .venv-image
IMAGE_STAMP := $(IMAGE_VENV)/.installed
# A third venv with the inference container's own Python serving stack (sagemaker-huggingface-inference-toolkit
# 2.6.0, multi-model-server, transformers 4.51.3): `make serving-venv`, see requirements-serving.txt.
SERVING_VENV := .venv-serving
SERVING_STAMP := $(SERVING_VENV)/.installed
SERVING_REQUIREMENTS := requirements-serving.txt requirements-serving-nodeps.txt constraints-serving.txt
# torch's CPU build comes from PyTorch's own index: PyPI's torch for Linux is the CUDA build, several GB of
# nvidia-* packages. Where that index cannot be reached, pip still takes a torch==2.13.0 wheel from its other
# sources (a local wheel, a mirror); TORCH_INDEX_URL points elsewhere.
TORCH_INDEX_URL ?= https://download.pytorch.org/whl/cpu
TORCH := --retries 1 --extra-index-url $(TORCH_INDEX_URL) torch==2.13.0
TWIN_PORT ?= 8080
STACK ?= dev
# The same state backend `make deploy` uses, for the other Pulumi targets.
export PULUMI_BACKEND_URL ?= file://~

.DEFAULT_GOAL := help
.PHONY: help test lint pytest docs snapshot test-image-transformers serving-venv test-serving-transformers \
	test-serving-stack java check-install deploy smoke outputs destroy twin embed example bench cost clean

## This list.
help:
	@echo "make deploy    pulumi up (needs the Pulumi CLI and AWS credentials; STACK=dev)"
	@echo "make test      lint and the whole test suite, offline (builds $(VENV) first: ~2.1 GB, torch's CPU build)"
	@echo
	@awk '/^## /{doc=substr($$0,4); next} /^[a-z][a-z-]*:/{if(doc){split($$0,t,":"); printf "  make %-26s %s\n", t[1], doc}} {doc=""}' $(MAKEFILE_LIST)

$(STAMP): $(REQUIREMENTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.0.1
	# torch first, alone, from the CPU index: nothing else can then pull a CUDA build.
	$(BIN)/pip install --quiet -c constraints.txt $(TORCH)
	$(BIN)/pip install --quiet -c constraints.txt -r requirements-dev.txt -r requirements-local.txt
	touch $(STAMP)

## Lint and run the whole test suite, offline.
test: lint pytest

# ruff; mypy --strict on components/, embeddings/ and local_endpoint/; the README's generated tables current.
## ruff, mypy --strict and the README's generated tables.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy components embeddings local_endpoint
	$(BIN)/python -m scripts.generate_docs --check

## The test suite alone; ARGS="-m unit" for the fast layer.
pytest: $(STAMP)
	$(BIN)/pytest $(ARGS)

# From Pulumi.yaml, the component's defaults and components/outputs.py.
## Regenerate the README's configuration and outputs tables.
docs: $(STAMP)
	$(BIN)/python -m scripts.generate_docs

# After a deliberate change to what the program deploys; the diff shows what `pulumi up` will do differently.
## Re-record what the program registers (tests/infra/recorded/).
snapshot: $(STAMP)
	$(BIN)/python -m tests.infra.snapshots

$(IMAGE_STAMP): requirements-image.txt constraints-image.txt
	$(PYTHON) -m venv $(IMAGE_VENV)
	$(IMAGE_VENV)/bin/pip install --quiet --upgrade pip==26.0.1
	$(IMAGE_VENV)/bin/pip install --quiet -c constraints-image.txt $(TORCH)
	$(IMAGE_VENV)/bin/pip install --quiet -c constraints-image.txt -r requirements-image.txt
	touch $(IMAGE_STAMP)

## inference.py's tests under the image's transformers 5.5.3 (.venv-image).
test-image-transformers: $(IMAGE_STAMP)
	$(IMAGE_VENV)/bin/python -c "import transformers; assert transformers.__version__ == '5.5.3', transformers.__version__"
	$(IMAGE_VENV)/bin/pytest -p no:cacheprovider tests/model_artifact

$(SERVING_STAMP): $(SERVING_REQUIREMENTS)
	$(PYTHON) -m venv $(SERVING_VENV)
	$(SERVING_VENV)/bin/pip install --quiet --upgrade pip==26.0.1
	$(SERVING_VENV)/bin/pip install --quiet -c constraints-serving.txt $(TORCH)
	$(SERVING_VENV)/bin/pip install --quiet -c constraints-serving.txt -r requirements-serving.txt
	# The toolkit, the model server and its archiver without the dependencies the serving path never imports.
	$(SERVING_VENV)/bin/pip install --quiet --no-deps -c constraints-serving.txt -r requirements-serving-nodeps.txt
	touch $(SERVING_STAMP)

## Build the venv of the container's own serving stack (.venv-serving).
serving-venv: $(SERVING_STAMP)

## inference.py's tests under the previous image's transformers 4.51.3.
test-serving-transformers: $(SERVING_STAMP)
	$(SERVING_VENV)/bin/python -c "import transformers; assert transformers.__version__ == '4.51.3', transformers.__version__"
	$(SERVING_VENV)/bin/pytest -p no:cacheprovider tests/model_artifact

# multi-model-server's frontend is Java; checked before anything is built, so a machine without it fails at once.
java:
	@if [ -n "$$JAVA_HOME" ] && [ -x "$$JAVA_HOME/bin/java" ] || command -v java >/dev/null 2>&1; then :; else \
	  echo "make: java not found: the serving stack's model server (multi-model-server) is a Java program;" \
	       "install a Java runtime 17 or newer (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME" >&2; \
	  exit 1; fi

# The toolkit's entry point and multi-model-server on the model.tar.gz and environment the program renders, for
# artifact/hub x server/client pooling (docs/container.md).
## The container's own serving stack, offline (needs Java).
test-serving-stack: java $(STAMP) test-serving-transformers
	$(SERVING_VENV)/bin/pytest -p no:cacheprovider -n 0 serving_stack_tests

## pip install .[client] in a fresh venv: boto3 alone, and alex-embed and alex-embed-batch run.
check-install:
	rm -rf .build/check-install && $(PYTHON) -m venv .build/check-install
	.build/check-install/bin/pip install --quiet ".[client]"
	.build/check-install/bin/python -c "import embeddings; assert embeddings.EmbeddingClient"
	.build/check-install/bin/alex-embed --help >/dev/null
	.build/check-install/bin/alex-embed-batch --help >/dev/null
	@echo "check-install: the client and its commands install from pyproject.toml with boto3 alone"

# The local state backend unless PULUMI_BACKEND_URL is set; STACK=dev by default.
## pulumi up.
deploy:
	STACK=$(STACK) ./scripts/deploy.sh

# What `make smoke` checks: STACK's outputs, read with the Pulumi CLI, or ENDPOINT (and REGION) named outright;
# POOLING overrides the stack's pooling. SMOKE_ARGS passes options to scripts/smoke.py (--no-wait for the twin).
ENDPOINT ?=
REGION ?=
POOLING ?=
SMOKE_ARGS ?=
# Waits for InService, sends the tutorial's request, checks the vector against sentence-transformers', reports
# the latency and prints the .env lines (ENDPOINT= REGION= without the Pulumi CLI).
## After make deploy: check the endpoint and print the .env line.
smoke:
	@if [ ! -x $(BIN)/python ]; then echo "make smoke: $(BIN)/python not found: make deploy creates it" \
	  "(pulumi install), or: $(PYTHON) -m venv $(VENV) && $(BIN)/pip install -r requirements.txt" >&2; exit 2; fi
	@$(BIN)/python scripts/smoke.py --stack "$(STACK)" --endpoint "$(ENDPOINT)" --region "$(REGION)" \
	  --pooling "$(POOLING)" $(SMOKE_ARGS)

## The stack's outputs as JSON.
outputs:
	@AGAIN="make outputs" ./scripts/pulumi.sh stack output --stack $(STACK) --json

## pulumi destroy.
destroy:
	@AGAIN="make destroy" ./scripts/pulumi.sh destroy --stack $(STACK)

# The twin's pooling: server (the stack's default: code/inference.py with the packaged model) or client.
TWIN_POOLING ?= server
ARTIFACT ?= model_artifact
# Serves as the stack does by default; TWIN_PORT=8081 for another port, TWIN_POOLING=client for token vectors,
# ARTIFACT=path/to/model.tar.gz for another artifact. Ctrl-C stops it.
## The endpoint's local twin on 127.0.0.1:8080, offline.
twin: $(STAMP)
	$(BIN)/python -m local_endpoint --port $(TWIN_PORT)$(if $(filter server,$(TWIN_POOLING)), --model-artifact $(ARTIFACT))

## Embed "vectorize me" through the client against the twin.
embed: $(STAMP)
	@AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=http://127.0.0.1:$(TWIN_PORT) AWS_ACCESS_KEY_ID=local \
	AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1 $(BIN)/python -m embeddings "vectorize me"

## The ingest Lambda example, run here against the twin.
example: $(STAMP)
	@AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=http://127.0.0.1:$(TWIN_PORT) \
	$(BIN)/python examples/ingest_lambda/invoke_locally.py

# BENCH_WRITE: the page the tables go into (empty: stdout only). BENCH_ARGS: options for benchmarks/run_all.py,
# e.g. BENCH_ARGS="--repeats 10" for a longer, steadier run, or "--stage serving" for one stage.
# COST_PAGE: the page the cost stage writes its table into, its picture beside it (with BENCH_WRITE only).
BENCH_WRITE ?= docs/performance.md
COST_PAGE ?= docs/cost.md
BENCH_ARGS ?=
## Benchmarks, not tests (~5 min): serving stack, batch, formats, bf16, bulk, cost, twin; into docs/performance.md and docs/cost.md.
bench: java $(STAMP) $(SERVING_STAMP)
	$(BIN)/python -m benchmarks.run_all$(if $(BENCH_WRITE), --write $(BENCH_WRITE) --cost-page $(COST_PAGE)) $(BENCH_ARGS)

## Cost per million embeddings only (~1 min): measure on the serving stack, write docs/cost.md and its picture.
cost: java $(STAMP) $(SERVING_STAMP)
	$(BIN)/python -m benchmarks.bench_cost --write $(COST_PAGE)

## Remove the venvs, caches and built archives.
clean:
	rm -rf $(VENV) $(IMAGE_VENV) $(SERVING_VENV) .build .pytest_cache .ruff_cache .mypy_cache
