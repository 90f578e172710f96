# Two commands matter: `make deploy` (pulumi up) and `make test` (everything offline). The rest are helpers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REQUIREMENTS := requirements.txt requirements-dev.txt requirements-local.txt constraints.txt
# A second venv with the deployed image's transformers, for the tests of model_artifact/code/inference.py.
IMAGE_VENV := .venv-image
IMAGE_STAMP := $(IMAGE_VENV)/.installed
# A third venv with the inference container's own Python serving stack (sagemaker-huggingface-inference-toolkit
# 2.6.0, multi-model-server, transformers 4.51.3): `make serving-venv`, see requirements-serving.txt.
SERVING_VENV := .venv-serving
SERVING_STAMP := $(SERVING_VENV)/.installed
SERVING_REQUIREMENTS := requirements-serving.txt requirements-serving-nodeps.txt constraints-serving.txt
TWIN_PORT ?= 8080
STACK ?= dev
# The same state backend `make deploy` uses, for the other Pulumi targets.
export PULUMI_BACKEND_URL ?= file://~

.PHONY: test lint pytest test-image-transformers serving-venv test-serving-transformers test-serving-stack java deploy smoke destroy outputs twin embed bench clean

$(STAMP): $(REQUIREMENTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.0.1
	# torch first, alone: pinned to the 2.13.0 CPU build, so nothing else can pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet -c constraints.txt torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -r requirements-dev.txt -r requirements-local.txt
	touch $(STAMP)

## Lint and run the whole test suite offline (Pulumi mocks, moto, the real model, the local twin).
test: lint pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

pytest: $(STAMP)
	$(BIN)/pytest

$(IMAGE_STAMP): requirements-image.txt constraints-image.txt
	$(PYTHON) -m venv $(IMAGE_VENV)
	$(IMAGE_VENV)/bin/pip install --quiet --upgrade pip==26.0.1
	$(IMAGE_VENV)/bin/pip install --quiet -c constraints-image.txt torch==2.13.0
	$(IMAGE_VENV)/bin/pip install --quiet -c constraints-image.txt -r requirements-image.txt
	touch $(IMAGE_STAMP)

## The deployed inference.py's tests under transformers==5.5.3, the image's pin (in $(IMAGE_VENV)).
test-image-transformers: $(IMAGE_STAMP)
	$(IMAGE_VENV)/bin/python -c "import transformers; assert transformers.__version__ == '5.5.3', transformers.__version__"
	$(IMAGE_VENV)/bin/pytest -p no:cacheprovider tests/model_artifact

$(SERVING_STAMP): $(SERVING_REQUIREMENTS)
	$(PYTHON) -m venv $(SERVING_VENV)
	$(SERVING_VENV)/bin/pip install --quiet --upgrade pip==26.0.1
	$(SERVING_VENV)/bin/pip install --quiet -c constraints-serving.txt torch==2.13.0
	$(SERVING_VENV)/bin/pip install --quiet -c constraints-serving.txt -r requirements-serving.txt
	# The toolkit, the model server and its archiver without the dependencies the serving path never imports.
	$(SERVING_VENV)/bin/pip install --quiet --no-deps -c constraints-serving.txt -r requirements-serving-nodeps.txt
	touch $(SERVING_STAMP)

## The venv of the inference container's own serving stack ($(SERVING_VENV)).
serving-venv: $(SERVING_STAMP)

## The deployed inference.py's tests under transformers==4.51.3, the previous 2.6 image's pin (in $(SERVING_VENV)).
test-serving-transformers: $(SERVING_STAMP)
	$(SERVING_VENV)/bin/python -c "import transformers; assert transformers.__version__ == '4.51.3', transformers.__version__"
	$(SERVING_VENV)/bin/pytest -p no:cacheprovider tests/model_artifact

# multi-model-server's frontend is Java; checked before anything is built, so a machine without it fails at once.
java:
	@if [ -n "$$JAVA_HOME" ] && [ -x "$$JAVA_HOME/bin/java" ] || command -v java >/dev/null 2>&1; then :; else \
	  echo "make: java not found: the serving stack's model server (multi-model-server) is a Java program;" \
	       "install a Java runtime 17 or newer (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME" >&2; \
	  exit 1; fi

## The container's own serving stack, offline: the toolkit's entry point and multi-model-server on the model.tar.gz
## and environment the program renders, for artifact/hub x server/client pooling (docs/container.md).
test-serving-stack: java $(STAMP) test-serving-transformers
	$(SERVING_VENV)/bin/pytest -p no:cacheprovider -n 0 serving_stack_tests

## Deploy with `pulumi up` (local state backend unless PULUMI_BACKEND_URL is set; STACK=dev by default).
deploy:
	STACK=$(STACK) ./scripts/deploy.sh

# What `make smoke` checks: STACK's outputs, read with the Pulumi CLI, or ENDPOINT (and REGION) named outright;
# POOLING overrides the stack's pooling. SMOKE_ARGS passes options to scripts/smoke.py (--no-wait for the twin).
ENDPOINT ?=
REGION ?=
POOLING ?=
SMOKE_ARGS ?=
## After `make deploy`: wait for InService, send the tutorial's request, check the vector against
## sentence-transformers', report the latency and print the .env lines (ENDPOINT= REGION= without the Pulumi CLI).
smoke:
	@if [ ! -x $(BIN)/python ]; then echo "make smoke: $(BIN)/python not found: make deploy creates it" \
	  "(pulumi install), or: $(PYTHON) -m venv $(VENV) && $(BIN)/pip install -r requirements.txt" >&2; exit 2; fi
	@$(BIN)/python scripts/smoke.py --stack "$(STACK)" --endpoint "$(ENDPOINT)" --region "$(REGION)" \
	  --pooling "$(POOLING)" $(SMOKE_ARGS)

destroy:
	pulumi destroy --stack $(STACK)

outputs:
	pulumi stack output --stack $(STACK) --json

## The local twin of the endpoint on 127.0.0.1:$(TWIN_PORT) (Ctrl-C to stop). `pooling: client` by default;
## `make twin ARTIFACT=model_artifact` (a folder or a model.tar.gz) serves its code/inference.py, as `pooling: server`.
ARTIFACT ?=
twin: $(STAMP)
	$(BIN)/python -m local_endpoint --port $(TWIN_PORT)$(if $(ARTIFACT), --model-artifact $(ARTIFACT))

## Embed "vectorize me" through the project's client against the local twin.
embed: $(STAMP)
	@AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=http://127.0.0.1:$(TWIN_PORT) AWS_ACCESS_KEY_ID=local \
	AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1 $(BIN)/python -m embeddings "vectorize me"

# `make bench` writes its tables into BENCH_WRITE (empty: stdout only); BENCH_ARGS passes options to the driver,
# e.g. BENCH_ARGS="--repeats 6" for a longer, steadier run (benchmarks/run_all.py --help).
BENCH_WRITE ?= docs/performance.md
BENCH_ARGS ?=
## Benchmarks (not tests), about 3 minutes: the container's serving stack, bf16, the bulk client and the twin, each
## stage marked when other work was using the machine; the tables into $(BENCH_WRITE) (docs/performance.md).
bench: java $(STAMP) $(SERVING_STAMP)
	$(BIN)/python benchmarks/run_all.py$(if $(BENCH_WRITE), --write $(BENCH_WRITE)) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(IMAGE_VENV) $(SERVING_VENV) .pytest_cache .ruff_cache
