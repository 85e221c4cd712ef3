"""The Redshift an exported project runs on: a provisioned cluster or a Serverless workgroup.

It becomes the template's parameters (ClusterIdentifier, DbUser and Database for a cluster;
WorkgroupName, WorkgroupId and Database for a workgroup, whose IAM ARN carries its id), with the
project's own values as their defaults. Those values come from, in this order: what the caller
gives, a `redshift-data://` warehouse of the project, and the members the project's Data API
tasks write. A project that names two clusters (or databases, or users) is refused: the template
grants one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from redstep.deploy.calls import ExportError, ProjectCalls
from redstep.project import Project
from redstep.warehouse.redshift import parse_redshift_url

DEFAULT_DATABASE = "dev"
"""The database Redshift creates with a cluster or workgroup."""


@dataclass(frozen=True, slots=True)
class Target:
    """A cluster (with the database user the Data API connects as) or a workgroup."""

    database: str = DEFAULT_DATABASE
    cluster_identifier: str | None = None
    db_user: str | None = None
    workgroup_name: str | None = None

    @property
    def is_serverless(self) -> bool:
        return self.workgroup_name is not None

    def values(self) -> dict[str, str]:
        """The parameters' defaults, by the Data API member each stands for."""
        given = {
            "ClusterIdentifier": self.cluster_identifier,
            "DbUser": self.db_user,
            "WorkgroupName": self.workgroup_name,
            "Database": self.database,
        }
        return {member: value for member, value in given.items() if value is not None}

    def parameters(self) -> dict[str, dict[str, Any]]:
        """The template's Parameters for this target."""
        found: dict[str, dict[str, Any]] = {}
        if self.is_serverless:
            found["WorkgroupName"] = _parameter(
                "The Redshift Serverless workgroup the SQL runs on", self.workgroup_name
            )
            found["WorkgroupId"] = _parameter(
                "The workgroup's id (IAM names a workgroup by its id: "
                "aws redshift-serverless get-workgroup --workgroup-name NAME)",
                None,
            )
        else:
            found["ClusterIdentifier"] = _parameter(
                "The Redshift cluster the SQL runs on", self.cluster_identifier
            )
            found["DbUser"] = _parameter("The database user the Data API connects as", self.db_user)
        found["Database"] = _parameter("The database the SQL runs in", self.database)
        return found


def _parameter(description: str, default: str | None) -> dict[str, Any]:
    parameter: dict[str, Any] = {"Type": "String", "Description": description, "MinLength": 1}
    if default is not None:
        parameter["Default"] = default
    return parameter


def find_target(project: Project, calls: ProjectCalls, given: Mapping[str, str]) -> Target:
    """The target from `given` (Data API member -> value), else the project (see the module)."""
    found: dict[str, str] = {}
    for member, values in calls.target_values.items():
        if len(values) > 1:
            names = ", ".join(sorted(values))
            raise ExportError(f"the Data API tasks name more than one {member} ({names})")
        if values:
            found[member] = next(iter(values))
    for url in project.warehouses.values():
        if url.lower().startswith("redshift-data:"):
            remote = parse_redshift_url(url)
            named = {
                "ClusterIdentifier": remote.cluster_identifier,
                "WorkgroupName": remote.workgroup_name,
                "Database": remote.database,
                "DbUser": remote.db_user,
            }
            found = {member: value for member, value in named.items() if value}
            break
    if "ClusterIdentifier" in given or "WorkgroupName" in given:
        found.pop("ClusterIdentifier", None)
        found.pop("WorkgroupName", None)
        found.pop("DbUser", None)
    found.update(given)
    target = Target(
        database=found.get("Database", DEFAULT_DATABASE),
        cluster_identifier=found.get("ClusterIdentifier"),
        db_user=found.get("DbUser"),
        workgroup_name=found.get("WorkgroupName"),
    )
    return _checked(target, calls)


def _checked(target: Target, calls: ProjectCalls) -> Target:
    if target.cluster_identifier and target.workgroup_name:
        raise ExportError("name a cluster or a workgroup, not both")
    if target.is_serverless:
        written = sorted(
            member for member in ("ClusterIdentifier", "DbUser") if calls.target_values.get(member)
        )
        if written:
            raise ExportError(
                "the target is a Serverless workgroup, but Data API tasks give "
                + ", ".join(written)
            )
        return replace(target, db_user=None)
    if target.cluster_identifier is None:
        raise ExportError(
            "no Redshift to export to: give --cluster-identifier and --db-user, or "
            "--workgroup-name (or write them in the Data API tasks)"
        )
    if target.db_user is None:
        raise ExportError(f"cluster {target.cluster_identifier!r} needs a database user: --db-user")
    if calls.target_values.get("WorkgroupName"):
        raise ExportError("the target is a cluster, but Data API tasks give WorkgroupName")
    return target
