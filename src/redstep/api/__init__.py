"""AWS-compatible HTTP endpoints: one Starlette app for Step Functions, Redshift Data and S3."""
