"""Part 2 of the knowledge base: the embedding endpoint, configured per stack.

Later parts read the exports (`pulumi stack output`, `pulumi.StackReference`) instead of hard-coding names, so every
export is part of this stack's contract: their names and meanings are `components.outputs.STACK_OUTPUTS`, and the
optional ones exist only when their feature is on.
"""

from __future__ import annotations

import pulumi

from components import ServerlessEmbeddingEndpoint
from stack_config import endpoint_args_from_config, in_stack_terms

with in_stack_terms():
    endpoint = ServerlessEmbeddingEndpoint("embedding", endpoint_args_from_config(pulumi.Config()))

for name, value in endpoint.outputs.items():
    pulumi.export(name, value)
