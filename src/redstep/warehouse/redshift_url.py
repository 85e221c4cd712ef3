"""`redshift-data://` URLs: the Redshift a project's SQL is sent to through the Data API.

    redshift-data://<cluster-id>/<database>?db_user=<user>   a provisioned cluster, temporary
                                                             credentials for the user
    redshift-data://<cluster-id>/<database>?secret_arn=<arn> ... or a Secrets Manager secret
    redshift-data://<cluster-id>/<database>                  ... or the IAM identity's own user
    redshift-data://workgroup:<name>/<database>              a Serverless workgroup

Each takes `region=<region>` too. This module imports no AWS library: the registry checks URLs
with it whenever a project loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from redstep.warehouse.registry import WarehouseUrlError

SCHEME = "redshift-data"
URL_KEYS = ("db_user", "region", "secret_arn")
_WORKGROUP = "workgroup:"


@dataclass(frozen=True, slots=True)
class RedshiftTarget:
    """Where a `redshift-data://` URL sends statements: a cluster or a Serverless workgroup."""

    database: str
    cluster_identifier: str | None = None
    workgroup_name: str | None = None
    db_user: str | None = None
    secret_arn: str | None = None
    region: str | None = None

    def request_members(self, database: str | None = None) -> dict[str, str]:
        """The request members naming the target (and `database` for the URL's, if given)."""
        members = {
            "ClusterIdentifier": self.cluster_identifier,
            "WorkgroupName": self.workgroup_name,
            "Database": database or self.database,
            "DbUser": self.db_user,
            "SecretArn": self.secret_arn,
        }
        return {name: value for name, value in members.items() if value is not None}


def parse_redshift_url(url: str) -> RedshiftTarget:
    """The target a `redshift-data://` URL names, or WarehouseUrlError saying what is wrong."""
    forms = (
        f"expected {SCHEME}://<cluster-id>/<database>?db_user=<user> "
        f"or {SCHEME}://workgroup:<name>/<database>"
    )

    def bad(reason: str) -> WarehouseUrlError:
        return WarehouseUrlError(f"{url!r} {reason}")

    parts = urlsplit(url)
    if parts.scheme.lower() != SCHEME:
        raise bad(f"is not a {SCHEME}:// URL; {forms}")
    host = unquote(parts.netloc)  # `workgroup:name` is no host:port: urlsplit's reading is not
    if "@" in host:
        raise bad("names a user before the host; give it as ?db_user=<user>")
    is_workgroup = host.lower().startswith(_WORKGROUP)
    name = host[len(_WORKGROUP) :] if is_workgroup else host
    kind = "workgroup" if is_workgroup else "cluster"
    if not name or ":" in name:  # no port either: the Data API is an AWS service, not a host
        raise bad(f"names no {kind}{f' ({name!r} has a colon)' if name else ''}; {forms}")
    database = unquote(parts.path.strip("/"))
    if not database or "/" in database:
        raise bad(f"names no database (one, after the host); {forms}")
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in URL_KEYS:
            raise bad(f"has an unknown query key {key!r} (known: {', '.join(URL_KEYS)})")
        if key in query or not value:
            raise bad(f"must give {key}= once, with a value")
        query[key] = value
    if is_workgroup and "db_user" in query:
        raise bad("gives db_user= for a workgroup: Serverless derives the user from IAM")
    return RedshiftTarget(
        database=database,
        cluster_identifier=None if is_workgroup else name,
        workgroup_name=name if is_workgroup else None,
        db_user=query.get("db_user"),
        secret_arn=query.get("secret_arn"),
        region=query.get("region"),
    )
