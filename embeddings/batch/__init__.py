"""`python -m embeddings.batch`: a corpus through SageMaker Batch Transform on the stack's own model.

The bulk client is capped by the endpoint's MaxConcurrency; a transform job runs the same Model (image,
model.tar.gz, code/inference.py) on up to 100 instances, reading shards from S3 and writing answers beside them.
This package shards the texts, starts the job, waits, and turns the answers back into the JSON Lines that
`python -m embeddings --file FILE --jsonl` writes, so bulk and batch are interchangeable. boto3 only.

Modules: settings (options and their rules), job (the job's name and its CreateTransformJob request), estimate
(time and instance-hours), corpus (INPUT read again for each pass, spooled if it cannot be), shards (texts in,
shard files out), store (the bucket), jobs (the control plane),
waiting (progress), results (answers checked and written), runner (the commands), __main__ (the CLI).
"""
