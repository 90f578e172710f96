# Two commands matter: `make deploy` (pulumi up) and `make test` (everything offline). The rest are helpers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REQUIREMENTS := requirements.txt requirements-dev.txt requirements-local.txt constraints.txt
TWIN_PORT ?= 8080
STACK ?= dev
# The same state backend `make deploy` uses, for the other Pulumi targets.
export PULUMI_BACKEND_URL ?= file://~

.PHONY: test lint pytest deploy destroy outputs twin embed bench clean

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

## Deploy with `pulumi up` (local state backend unless PULUMI_BACKEND_URL is set; STACK=dev by default).
deploy:
	STACK=$(STACK) ./scripts/deploy.sh

destroy:
	pulumi destroy --stack $(STACK)

outputs:
	pulumi stack output --stack $(STACK) --json

## The local twin of the endpoint on 127.0.0.1:$(TWIN_PORT) (Ctrl-C to stop).
twin: $(STAMP)
	$(BIN)/python -m local_endpoint --port $(TWIN_PORT)

## Embed "vectorize me" through the project's client against the local twin.
embed: $(STAMP)
	@AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=http://127.0.0.1:$(TWIN_PORT) AWS_ACCESS_KEY_ID=local \
	AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1 $(BIN)/python -m embeddings "vectorize me"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_local_endpoint.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
