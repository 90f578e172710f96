"""Time and instance-hours before a job starts, from the throughput measured on the container's own stack.

TEXTS_PER_S_PER_2_VCPUS is the range one serverless slot served in this project's measurements (issue 21,
docs/performance.md): 140-250 texts/s on 2 cores for short texts. An instance is assumed to scale with its vCPUs,
which is optimistic for one model-server worker on many cores, and start-up (several minutes of provisioning,
billed) is not included: the estimate is for planning, not a quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from embeddings.output import duration

TEXTS_PER_S_PER_2_VCPUS = (140.0, 250.0)

# vCPUs by size, from AWS's EC2 instance type pages (https://aws.amazon.com/ec2/instance-types/), which the ml.
# types mirror: large 2, xlarge 4, Nxlarge 4*N, for every family a transform job accepts, except the one below.
_VCPUS_BY_SIZE = {"large": 2, "xlarge": 4}
_VCPU_EXCEPTIONS = {"ml.c4.8xlarge": 36}
_SIZE = re.compile(r"^ml\.[a-z0-9]+\.(?:(?P<n>[0-9]+)xlarge|(?P<size>x?large))$")


def vcpus(instance_type: str) -> int | None:
    """The instance type's vCPUs, or None for a name that follows no known pattern."""
    if instance_type in _VCPU_EXCEPTIONS:
        return _VCPU_EXCEPTIONS[instance_type]
    match = _SIZE.match(instance_type)
    if match is None:
        return None
    if match["n"] is not None:
        return 4 * int(match["n"])
    return _VCPUS_BY_SIZE[match["size"]]


@dataclass(frozen=True)
class Estimate:
    """Wall time and instance-hours of the transform itself, fastest and slowest, for `records` texts."""

    fastest_s: float
    slowest_s: float
    instances: int

    def describe(self) -> str:
        hours = [f"{seconds * self.instances / 3600:.2f}" for seconds in (self.fastest_s, self.slowest_s)]
        hours_text = "under 0.01" if hours[1] == "0.00" else _span(*hours)
        return (
            f"about {_span(duration(self.fastest_s), duration(self.slowest_s))} of transform plus start-up, "
            f"{hours_text} instance-hours"
        )


def _span(low: str, high: str) -> str:
    """`low-high`, or one figure when both round to it (a small corpus: "1s", not "1s-1s")."""
    return low if low == high else f"{low}-{high}"


def estimate(records: int, instance_type: str, instances: int) -> Estimate | None:
    cores = vcpus(instance_type)
    if cores is None:
        return None
    low, high = (rate * cores / 2 * instances for rate in TEXTS_PER_S_PER_2_VCPUS)
    return Estimate(fastest_s=records / high, slowest_s=records / low, instances=instances)
