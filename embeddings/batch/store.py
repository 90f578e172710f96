"""The job's files in the batch bucket: input/<job>/ (the shards), input/<job>.manifest.json (what a later
`status` or `fetch` needs to know about them), output/<job>/ (the answers, `<shard>.out`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from embeddings.batch.errors import BatchError
from embeddings.batch.job import input_prefix, manifest_key, output_prefix
from embeddings.batch.shards import Shard

MANIFEST_FORMAT = 1
_OUT = ".out"


@dataclass(frozen=True)
class Manifest:
    """The base job's shards; follow-up jobs re-submit some of these same files."""

    job: str
    records: int
    shards: tuple[Shard, ...]

    def to_json(self) -> bytes:
        shards = [[shard.first, shard.count] for shard in self.shards]
        body = {"format": MANIFEST_FORMAT, "job": self.job, "records": self.records, "shards": shards}
        return json.dumps(body).encode()

    @classmethod
    def from_json(cls, data: bytes, where: str) -> Manifest:
        try:
            body = json.loads(data)
            if body.get("format") != MANIFEST_FORMAT:
                raise ValueError(f"format {body.get('format')!r}, expected {MANIFEST_FORMAT}")
            shards = tuple(Shard(index, int(first), int(count)) for index, (first, count) in enumerate(body["shards"]))
            return cls(job=str(body["job"]), records=int(body["records"]), shards=shards)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise BatchError(f"{where} is not a manifest this runner wrote: {error}") from None


class Store:
    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def upload(self, job: str, shards: Iterable[Shard], bodies: Iterable[bytes], manifest: Manifest) -> None:
        """The shards first, the manifest last: a manifest means every shard it names is there."""
        for shard, body in zip(shards, bodies, strict=True):
            self.s3.put_object(Bucket=self.bucket, Key=input_prefix(job) + shard.file_name, Body=body)
        self.s3.put_object(Bucket=self.bucket, Key=manifest_key(job), Body=manifest.to_json())

    def manifest(self, job: str) -> Manifest | None:
        key = manifest_key(job)
        try:
            data = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return Manifest.from_json(data, self.url(key))

    def copy_shards(self, source_job: str, job: str, shards: Iterable[Shard]) -> None:
        """A follow-up's input: the base job's files for `shards`, copied within the bucket."""
        for shard in shards:
            self.s3.copy_object(
                Bucket=self.bucket,
                Key=input_prefix(job) + shard.file_name,
                CopySource={"Bucket": self.bucket, "Key": input_prefix(source_job) + shard.file_name},
            )

    def outputs(self, job: str) -> set[str]:
        """The shard file names job `job` has written an answer for."""
        prefix = output_prefix(job)
        names = set()
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                name = item["Key"][len(prefix) :]
                if name.endswith(_OUT):
                    names.add(name.removesuffix(_OUT))
        return names

    def inputs(self, job: str) -> int:
        """How many shard files job `job` was given."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=input_prefix(job))
        return sum(1 for page in pages for item in page.get("Contents", []) if not item["Key"].endswith("/"))

    def output_lines(self, job: str, shard: Shard) -> Iterator[bytes]:
        key = output_prefix(job) + shard.file_name + _OUT
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        yield from body.iter_lines(chunk_size=1 << 20)

    def output_url(self, job: str, shard: Shard) -> str:
        return self.url(output_prefix(job) + shard.file_name + _OUT)
