"""The prices docs/cost.md multiplies by, each with its source and date, for one region (us-east-1).

Two ways to get them:

- `CITED`, written here: every figure from a source that could be read offline, most of them AWS's own (samples,
  developer-guide examples, a bill), each saying which. AWS's pricing page fills its tables by script, so it could
  not be read; the provisioned-concurrency rates appear in no source that could, so they are absent here and the
  rows that need them say so rather than guess.
- `python -m benchmarks.prices --fetch`, with AWS credentials: asks AWS's Price List Query API (pricing:GetProducts)
  for the same products and writes benchmarks/price_list.json: every price with its SKU, usage type, AWS's own
  description and the list's publication date. When that file exists, it is what bench_cost.py prices with.

A price is not a quote: AWS's pricing page is the authority, and prices change.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REGION = "us-east-1"
MEMORY_SIZES_MB = (2048, 3072, 6144)
HOSTING_INSTANCE = "ml.m5.large"
HOSTING_VCPUS = 2  # EC2's general purpose instances page: m5.large, 2 vCPUs, 8 GiB
TRANSFORM_INSTANCE = "ml.c5.xlarge"
TRANSFORM_VCPUS = 4  # EC2's compute optimized instances page: c5.xlarge, 4 vCPUs, 8 GiB
PRICE_LIST_FILE = Path(__file__).with_name("price_list.json")
PRICE_LIST_API = "AWS Price List Query API (pricing:GetProducts)"

_SAMPLE = (
    "aws-samples/sagemaker-serverless-inference-benchmarking, src/sm_serverless_benchmarking/cost_constants.py "
    "(AWS's own sample; it names no region)"
)
_RECOMMENDER = (
    "AWS's SageMaker developer guide, inference-recommender-instance-recommendation: an example "
    "GetInferenceRecommendationsJob answer, `CostPerHour` of a real-time endpoint (region not named)"
)


@dataclass(frozen=True)
class Price:
    """One price, what it is per, and where it was read."""

    usd: float
    unit: str
    source: str
    as_of: str
    aws_owned: bool
    note: str = ""


@dataclass(frozen=True)
class PriceList:
    """The prices cost_model.py needs. A missing provisioned-concurrency rate is None: no row is priced without one."""

    region: str
    origin: str
    serverless_on_demand: Mapping[int, Price]
    provisioned_concurrency: Mapping[int, Price | None]
    provisioned_inference: Mapping[int, Price | None]
    serverless_data: Price
    hosting_instance: Price
    transform_instance: Price
    hosting_instance_type: str = HOSTING_INSTANCE
    hosting_instance_vcpus: int = HOSTING_VCPUS
    transform_instance_type: str = TRANSFORM_INSTANCE
    transform_instance_vcpus: int = TRANSFORM_VCPUS

    def provisioned(self, memory_mb: int) -> bool:
        return (
            self.provisioned_concurrency.get(memory_mb) is not None
            and self.provisioned_inference.get(memory_mb) is not None
        )

    def all_prices(self) -> list[tuple[str, Price | None]]:
        """Every price with what it is for, in the order the page lists them."""
        rows: list[tuple[str, Price | None]] = []
        for memory_mb in MEMORY_SIZES_MB:
            rows.append((f"serverless {memory_mb} MB, on demand", self.serverless_on_demand[memory_mb]))
        for memory_mb in MEMORY_SIZES_MB:
            rows.append(
                (f"serverless {memory_mb} MB, provisioned concurrency", self.provisioned_concurrency.get(memory_mb))
            )
            rows.append(
                (
                    f"serverless {memory_mb} MB, inference on provisioned concurrency",
                    self.provisioned_inference.get(memory_mb),
                )
            )
        rows += [
            ("serverless data processed, in and out", self.serverless_data),
            (f"{self.hosting_instance_type}, real-time hosting", self.hosting_instance),
            (f"{self.transform_instance_type}, Batch Transform", self.transform_instance),
        ]
        return rows

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "origin": self.origin,
            "serverless_on_demand": {str(mb): asdict(price) for mb, price in self.serverless_on_demand.items()},
            "provisioned_concurrency": {
                str(mb): None if price is None else asdict(price) for mb, price in self.provisioned_concurrency.items()
            },
            "provisioned_inference": {
                str(mb): None if price is None else asdict(price) for mb, price in self.provisioned_inference.items()
            },
            "serverless_data": asdict(self.serverless_data),
            "hosting_instance": asdict(self.hosting_instance),
            "transform_instance": asdict(self.transform_instance),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> PriceList:
        def sizes(key: str) -> dict[int, Price | None]:
            return {int(mb): None if price is None else Price(**price) for mb, price in raw[key].items()}

        on_demand = {mb: price for mb, price in sizes("serverless_on_demand").items() if price is not None}
        return cls(
            raw["region"],
            raw["origin"],
            on_demand,
            sizes("provisioned_concurrency"),
            sizes("provisioned_inference"),
            Price(**raw["serverless_data"]),
            Price(**raw["hosting_instance"]),
            Price(**raw["transform_instance"]),
        )


def _serverless(memory_mb: int) -> Price:
    # cost_constants.py: INFERENCE_COST = {1024: 0.0000200 / 1000, ..., 6144: 0.0001200 / 1000} per millisecond,
    # $0.00002 a second for each GB.
    return Price(round(0.00002 * memory_mb / 1024, 8), "second", _SAMPLE, "2022-09-23", aws_owned=True)


CITED = PriceList(
    REGION,
    "cited in benchmarks/prices.py (sources read offline; none names its region, each is taken as us-east-1's)",
    {memory_mb: _serverless(memory_mb) for memory_mb in MEMORY_SIZES_MB},
    dict.fromkeys(MEMORY_SIZES_MB),
    dict.fromkeys(MEMORY_SIZES_MB),
    Price(
        0.016,
        "GB",
        _SAMPLE + "; the same $0.016 per GB in and out on AWS's sample bill in "
        "aws-samples/sagemaker-ssh-helper, Sample_Costs.md (eu-west-1, December 2023)",
        "2022-09-23",
        aws_owned=True,
    ),
    Price(0.115, "hour", _RECOMMENDER, "2021-10-26", aws_owned=True),
    Price(
        0.204,
        "hour",
        _RECOMMENDER + ". That is ml.c5.xlarge's hosting rate; no source for its Batch Transform rate could be read. "
        "AWS's sample bill (aws-samples/sagemaker-ssh-helper, Sample_Costs.md, December 2023) bills Batch Transform "
        "at the hosting rate ($0.257 an hour for both on ml.m5.xlarge in eu-west-1)",
        "2021-10-26",
        aws_owned=True,
        note="hosting rate, taken as the Batch Transform rate",
    ),
)


def current() -> PriceList:
    """What the cost page prices with: the fetched Price List if there is one, else the cited prices."""
    if PRICE_LIST_FILE.is_file():
        return PriceList.from_json(json.loads(PRICE_LIST_FILE.read_text(encoding="utf-8")))
    return CITED


# --- Fetching from the Price List Query API --------------------------------------------------------------------------


class PriceListError(RuntimeError):
    """The Price List did not hold exactly one product where one was expected; the message lists what it held."""


@dataclass(frozen=True)
class Product:
    """One product of a GetProducts answer, with its single on-demand price."""

    sku: str
    family: str
    attributes: Mapping[str, str]
    usd: float
    unit: str
    description: str
    effective: str
    published: str

    @property
    def usage_type(self) -> str:
        return self.attributes.get("usagetype", "")


def parse_product(item: str) -> Product:
    """One PriceList item (a JSON document as a string, the format botocore's GetProducts example shows)."""
    document = json.loads(item)
    product = document["product"]
    terms = list(document.get("terms", {}).get("OnDemand", {}).values())
    dimensions = [dimension for term in terms for dimension in term["priceDimensions"].values()]
    first = [dimension for dimension in dimensions if dimension.get("beginRange", "0") == "0"]
    if len(terms) != 1 or len(first) != 1:
        raise PriceListError(
            f"SKU {product.get('sku')}: expected one on-demand term with one price from 0, found {len(terms)} "
            f"term(s) and {len(first)} such price(s)"
        )
    dimension = first[0]
    return Product(
        product["sku"],
        product.get("productFamily", ""),
        product.get("attributes", {}),
        float(dimension["pricePerUnit"]["USD"]),
        dimension["unit"],
        dimension.get("description", ""),
        terms[0].get("effectiveDate", "")[:10],
        document.get("publicationDate", "")[:10],
    )


def _one(products: Sequence[Product], what: str, matches: Callable[[Product], bool]) -> Product:
    chosen = [product for product in products if matches(product)]
    if len(chosen) != 1:
        held = "; ".join(
            sorted(f"{p.usage_type} (group {p.attributes.get('group', '-')}, {p.description})" for p in products)
        )
        raise PriceListError(f"{what}: {len(chosen)} matching product(s) in the Price List's answer. It held: {held}")
    return chosen[0]


def _price(product: Product, unit: str) -> Price:
    return Price(
        product.usd,
        unit,
        f'{PRICE_LIST_API}: SKU {product.sku}, usage type {product.usage_type}, "{product.description}"',
        product.published or product.effective,
        aws_owned=True,
        note=f"effective {product.effective}" if product.effective else "",
    )


def _memory_gb(product: Product) -> int | None:
    found = re.search(r"(\d+)GB$", product.usage_type)
    return int(found.group(1)) if found else None


# How a serverless product's kind shows in the Price List: the usage type on demand, the group for provisioned
# concurrency (the concurrency kept warm, and the requests it runs).
SERVERLESS_KINDS: dict[str, Callable[[Product], bool]] = {
    "on demand": lambda p: "ServerlessInf:Mem-" in p.usage_type,
    "provisioned concurrency": lambda p: p.attributes.get("group", "").endswith("ProvisionedConcurrency-Usage"),
    "inference on provisioned concurrency": lambda p: p.attributes.get("group", "").endswith(
        "ProvisionedConcurrency-Duration"
    ),
}


def select(
    serverless: Sequence[Product],
    endpoint_data: Sequence[Product],
    hosting: Sequence[Product],
    transform: Sequence[Product],
) -> PriceList:
    """The products the cost page needs, each picked by a rule that must match exactly one.

    Serverless products (productFamily "ML Serverless") are told apart by their usage type, `<region>-ServerlessInf:
    Mem-<N>GB` on demand, and by their `group` for provisioned concurrency: `...-Usage` for the concurrency kept warm,
    `...-Duration` for the requests it runs. Endpoint data is the Invoke-Endpoint operation's `Data-Bytes-In`/`-Out`,
    instances their `Host:` and `Tsform:` usage types. The on-demand and hosting usage types are the Price List's as
    recorded by its users; the rest come from third-party descriptions of it and could not be tried against the API
    where this was written. So every rule must match exactly once, and a miss lists what the answer held.
    """
    by_size: dict[str, dict[int, Price | None]] = {kind: {} for kind in SERVERLESS_KINDS}
    for memory_mb in MEMORY_SIZES_MB:
        for kind, is_kind in SERVERLESS_KINDS.items():

            def matches(p: Product, is_kind: Callable[[Product], bool] = is_kind, gb: int = memory_mb // 1024) -> bool:
                return is_kind(p) and _memory_gb(p) == gb

            product = _one(serverless, f"serverless {memory_mb} MB {kind}", matches)
            by_size[kind][memory_mb] = _price(product, "second")
    on_demand = {mb: price for mb, price in by_size["on demand"].items() if price is not None}
    warm, running = by_size["provisioned concurrency"], by_size["inference on provisioned concurrency"]
    data_in = _one(endpoint_data, "endpoint data in", lambda p: p.usage_type.endswith("Data-Bytes-In"))
    data_out = _one(endpoint_data, "endpoint data out", lambda p: p.usage_type.endswith("Data-Bytes-Out"))
    if data_in.usd != data_out.usd:
        raise PriceListError(
            f"endpoint data: in costs ${data_in.usd} and out ${data_out.usd} a GB; the cost model takes one rate "
            "for both"
        )
    return PriceList(
        REGION,
        f"{PRICE_LIST_API}, fetched {datetime.datetime.now(datetime.UTC):%Y-%m-%d}",
        on_demand,
        warm,
        running,
        _price(data_in, "GB"),
        _price(_one(hosting, f"{HOSTING_INSTANCE} hosting", lambda p: "-Host:" in p.usage_type), "hour"),
        _price(_one(transform, f"{TRANSFORM_INSTANCE} Batch Transform", lambda p: "-Tsform:" in p.usage_type), "hour"),
    )


def query(client: Any, filters: Mapping[str, str]) -> list[Product]:
    """Every product matching `filters` (TERM_MATCH each), across pages."""
    paginator = client.get_paginator("get_products")
    pages = paginator.paginate(
        ServiceCode="AmazonSageMaker",
        FormatVersion="aws_v1",
        Filters=[{"Type": "TERM_MATCH", "Field": name, "Value": value} for name, value in filters.items()],
    )
    return [parse_product(item) for page in pages for item in page["PriceList"]]


def fetch(client: Any, region: str = REGION) -> PriceList:
    """The cost page's prices from the Price List Query API (`client`: boto3's pricing client)."""
    return select(
        query(client, {"regionCode": region, "productFamily": "ML Serverless"}),
        query(client, {"regionCode": region, "operation": "Invoke-Endpoint"}),
        query(client, {"regionCode": region, "instanceName": HOSTING_INSTANCE}),
        query(client, {"regionCode": region, "instanceName": TRANSFORM_INSTANCE}),
    )


def describe(prices: PriceList) -> Iterable[str]:
    for what, price in prices.all_prices():
        if price is None:
            yield f"{what}: no price"
        else:
            yield f"{what}: ${price.usd:g} per {price.unit} ({price.source}, {price.as_of})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--fetch",
        action="store_true",
        help=f"ask AWS's Price List Query API (needs AWS credentials) and write {PRICE_LIST_FILE.name}",
    )
    parser.add_argument(
        "--output", type=Path, default=PRICE_LIST_FILE, help=f"where --fetch writes (default {PRICE_LIST_FILE})"
    )
    args = parser.parse_args(argv)
    if not args.fetch:
        for line in describe(current()):
            print(line)
        return 0
    import boto3
    import botocore.exceptions

    # The Price List Query API answers in us-east-1 (and two other regions) for every region's prices.
    client = boto3.client("pricing", region_name="us-east-1")
    try:
        prices = fetch(client)
    except (PriceListError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        print(f"prices: {error}", file=sys.stderr)
        return 1
    args.output.write_text(json.dumps(prices.to_json(), indent=2) + "\n", encoding="utf-8")
    for line in describe(prices):
        print(line)
    print(f"written to {args.output}; `make cost` now prices with it", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
