"""The Amazon Redshift Data API as a local service over the project's warehouses.

`DataApiService` answers every operation of botocore's `redshift-data` model; errors are the
exceptions of `redstep.dataapi.errors`, named as AWS names them.
"""

from __future__ import annotations

from redstep.dataapi.errors import DataApiError
from redstep.dataapi.service import DataApiService

__all__ = ["DataApiError", "DataApiService"]
