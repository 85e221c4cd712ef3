"""Task integrations: what a Task state's Resource does here, keyed by its ARN."""
