"""AWS-compatible HTTP endpoints: one Starlette app for Step Functions, Redshift Data and S3."""

DEFAULT_HOST = "127.0.0.1"
"""Where `redstep serve` listens unless told otherwise: reachable from this machine only."""
DEFAULT_PORT = 8642
