"""The prices: the cited ones name their sources, and a fetch from the Price List Query API picks exactly the
products it means or says what it found instead.

The fetch runs against boto3's own pricing client with botocore's Stubber, so every request is checked against the
service's shapes and nothing reaches a network. The answers follow the PriceList format of botocore's GetProducts
example; the attribute values are those the Price List uses for SageMaker (usage types `USE1-ServerlessInf:Mem-3GB`,
`USE1-Host:ml.m5.large`, `USE1-Tsform:ml.c5.xlarge`).
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from benchmarks import prices
from benchmarks.prices import CITED, MEMORY_SIZES_MB, PriceList, PriceListError, fetch

PUBLISHED = "2026-11-30T18:22:01Z"


def item(sku: str, usage_type: str, usd: str, unit: str, family: str = "ML Serverless", **attributes: str) -> str:
    return json.dumps(
        {
            "product": {
                "productFamily": family,
                "attributes": {"usagetype": usage_type, "regionCode": "us-east-1", **attributes},
                "sku": sku,
            },
            "serviceCode": "AmazonSageMaker",
            "terms": {
                "OnDemand": {
                    f"{sku}.JRTCKXETXF": {
                        "priceDimensions": {
                            f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": unit,
                                "endRange": "Inf",
                                "description": f"${usd} per {unit} for {usage_type}",
                                "appliesTo": [],
                                "rateCode": f"{sku}.JRTCKXETXF.6YS6EN2CT7",
                                "beginRange": "0",
                                "pricePerUnit": {"USD": usd},
                            }
                        },
                        "sku": sku,
                        "effectiveDate": "2026-09-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {},
                    }
                }
            },
            "version": "20261130182201",
            "publicationDate": PUBLISHED,
        }
    )


def serverless_items(drop: str | None = None) -> list[str]:
    items = []
    for gb in (1, 2, 3, 4, 5, 6):
        items.append(
            item(f"OD{gb}", f"USE1-ServerlessInf:Mem-{gb}GB", f"{0.00002 * gb:.10f}", "Second", group="ServerlessInf")
        )
        items.append(
            item(
                f"PCU{gb}",
                f"USE1-ProvisionedConcurrency:Usage-{gb}GB",
                f"{0.0000028 * gb:.10f}",
                "Second",
                group="ServerlessProvisionedConcurrency-Usage",
            )
        )
        items.append(
            item(
                f"PCD{gb}",
                f"USE1-ProvisionedConcurrency:Mem-{gb}GB",
                f"{0.0000117 * gb:.10f}",
                "Second",
                group="ServerlessProvisionedConcurrency-Duration",
            )
        )
    return [entry for entry in items if drop is None or drop not in entry]


DATA = [
    item("DIN", "USE1-Data-Bytes-In", "0.016", "GB", family="ML Data", operation="Invoke-Endpoint"),
    item("DOUT", "USE1-Data-Bytes-Out", "0.016", "GB", family="ML Data", operation="Invoke-Endpoint"),
]
HOSTING = [
    item("HOST", "USE1-Host:ml.m5.large", "0.1150000000", "Hrs", family="ML Instance", instanceName="ml.m5.large"),
    item("TRAIN", "USE1-Train:ml.m5.large", "0.1150000000", "Hrs", family="ML Instance", instanceName="ml.m5.large"),
]
TRANSFORM = [
    item("TS", "USE1-Tsform:ml.c5.xlarge", "0.2040000000", "Hrs", family="ML Instance", instanceName="ml.c5.xlarge"),
    item("HC5", "USE1-Host:ml.c5.xlarge", "0.2040000000", "Hrs", family="ML Instance", instanceName="ml.c5.xlarge"),
]
QUERIES = [
    ({"regionCode": "us-east-1", "productFamily": "ML Serverless"}, "serverless"),
    ({"regionCode": "us-east-1", "operation": "Invoke-Endpoint"}, "data"),
    ({"regionCode": "us-east-1", "instanceName": "ml.m5.large"}, "hosting"),
    ({"regionCode": "us-east-1", "instanceName": "ml.c5.xlarge"}, "transform"),
]


def client_answering(answers: dict[str, list[list[str]]]) -> tuple[Any, Stubber]:
    """A pricing client whose GetProducts calls, in the fetch's order, get `answers[query]`, one page each."""
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    stubber = Stubber(client)
    for filters, name in QUERIES:
        pages = answers[name]
        for index, page in enumerate(pages):
            expected: dict[str, Any] = {
                "ServiceCode": "AmazonSageMaker",
                "FormatVersion": "aws_v1",
                "Filters": [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in filters.items()],
            }
            response: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": page}
            if index:
                expected["NextToken"] = f"{name}-{index}"
            if index + 1 < len(pages):
                response["NextToken"] = f"{name}-{index + 1}"
            stubber.add_response("get_products", response, expected)
    stubber.activate()
    return client, stubber


def everything(**changes: list[list[str]]) -> dict[str, list[list[str]]]:
    answers = {"serverless": [serverless_items()], "data": [DATA], "hosting": [HOSTING], "transform": [TRANSFORM]}
    return {**answers, **changes}


def test_every_cited_price_names_its_source_and_a_date_and_the_unpriced_ones_are_none() -> None:
    for what, price in CITED.all_prices():
        if "provisioned concurrency" in what:
            assert price is None, what
            continue
        assert price is not None and price.usd > 0 and price.unit in ("second", "GB", "hour"), what
        datetime.date.fromisoformat(price.as_of)
        assert "aws-samples/" in price.source or "developer guide" in price.source, what
    assert not any(CITED.provisioned(mb) for mb in MEMORY_SIZES_MB)


def test_a_fetch_picks_each_product_by_its_rule_and_cites_sku_usage_type_and_publication_date() -> None:
    client, stubber = client_answering(everything(serverless=[serverless_items()[:9], serverless_items()[9:]]))
    fetched = fetch(client)
    stubber.assert_no_pending_responses()
    assert {mb: p.usd for mb, p in fetched.serverless_on_demand.items()} == pytest.approx(
        {2048: 0.00004, 3072: 0.00006, 6144: 0.00012}
    )
    assert fetched.provisioned_concurrency[3072] is not None and fetched.provisioned_inference[3072] is not None
    assert fetched.provisioned_concurrency[3072].usd == pytest.approx(0.0000084)
    assert fetched.provisioned_inference[3072].usd == pytest.approx(0.0000351)
    assert all(fetched.provisioned(mb) for mb in MEMORY_SIZES_MB)
    assert fetched.hosting_instance.usd == 0.115 and "USE1-Host:ml.m5.large" in fetched.hosting_instance.source
    assert fetched.transform_instance.usd == 0.204 and "SKU TS," in fetched.transform_instance.source
    assert fetched.serverless_data.usd == 0.016
    warm = fetched.provisioned_concurrency[2048]
    assert warm is not None
    assert warm.as_of == "2026-11-30" and "SKU PCU2" in warm.source and warm.aws_owned
    assert PriceList.from_json(json.loads(json.dumps(fetched.to_json()))) == fetched


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (everything(serverless=[serverless_items(drop="PCU3")]), "serverless 3072 MB provisioned concurrency: 0 "),
        (
            everything(serverless=[[*serverless_items(), serverless_items()[5]]]),
            "serverless 2048 MB inference on provisioned concurrency: 2 matching",
        ),
        (everything(data=[[DATA[0]]]), "endpoint data out: 0 matching"),
        (
            everything(data=[[DATA[0], DATA[1].replace('"USD": "0.016"', '"USD": "0.02"')]]),
            r"endpoint data: in costs \$0.016 and out \$0.02 a GB",
        ),
        (everything(transform=[[TRANSFORM[1]]]), "ml.c5.xlarge Batch Transform: 0 matching product"),
    ],
    ids=["missing", "twice", "no-data-out", "data-rates-differ", "no-transform"],
)
def test_a_fetch_that_does_not_find_exactly_one_product_says_so_and_lists_what_it_found(
    answers: dict[str, list[list[str]]], message: str
) -> None:
    client, _ = client_answering(answers)
    with pytest.raises(PriceListError, match=message) as raised:
        fetch(client)
    if "matching" in str(raised.value):
        assert "It held: " in str(raised.value)


def test_fetch_writes_the_file_make_cost_then_prices_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client, _ = client_answering(everything())
    monkeypatch.setattr(boto3, "client", lambda *args, **kwargs: client)
    output = tmp_path / "price_list.json"
    assert prices.main(["--fetch", "--output", str(output)]) == 0
    assert "serverless 3072 MB, provisioned concurrency: $8.4e-06 per second" in capsys.readouterr().out
    monkeypatch.setattr(prices, "PRICE_LIST_FILE", output)
    assert prices.current().provisioned(3072)
    assert prices.current().origin.startswith("AWS Price List Query API (pricing:GetProducts), fetched ")


def test_a_failed_fetch_exits_1_with_the_reason_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client, _ = client_answering(everything(hosting=[[HOSTING[1]]]))
    monkeypatch.setattr(boto3, "client", lambda *args, **kwargs: client)
    output = tmp_path / "price_list.json"
    assert prices.main(["--fetch", "--output", str(output)]) == 1
    assert "prices: ml.m5.large hosting: 0 matching product(s)" in capsys.readouterr().err
    assert not output.exists()


def test_without_a_fetched_file_the_cited_prices_are_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(prices, "PRICE_LIST_FILE", tmp_path / "absent.json")
    assert prices.current() is CITED
