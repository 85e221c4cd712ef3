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
from dataclasses import dataclass, field, replace
from typing import Any

from redstep.deploy.calls import Member, ProjectCalls
from redstep.deploy.errors import ExportError
from redstep.project import Project
from redstep.warehouse.redshift_url import parse_redshift_url

DEFAULT_DATABASE = "dev"
"""The database Redshift creates with a cluster or workgroup."""


@dataclass(frozen=True, slots=True)
class Target:
    """A cluster (with the database user the Data API connects as) or a workgroup."""

    database: str = DEFAULT_DATABASE
    cluster_identifier: str | None = None
    db_user: str | None = None
    workgroup_name: str | None = None
    project_values: Mapping[Member, str] = field(default_factory=dict)
    """What the project itself names (before the caller's overrides): the values its code holds,
    which the template turns into references to the parameters."""

    @property
    def is_serverless(self) -> bool:
        """Whether the target is a Serverless workgroup (else a provisioned cluster)."""
        return self.workgroup_name is not None

    def values(self) -> dict[Member, str]:
        """The parameters' defaults, by the Data API member each stands for."""
        given = {
            Member.CLUSTER_IDENTIFIER: self.cluster_identifier,
            Member.DB_USER: self.db_user,
            Member.WORKGROUP_NAME: self.workgroup_name,
            Member.DATABASE: self.database,
        }
        return {member: value for member, value in given.items() if value is not None}

    def references(self) -> dict[str, Member]:
        """Value -> the member's parameter, for the project's values and the target's."""
        return {
            **{value: member for member, value in self.project_values.items()},
            **{value: member for member, value in self.values().items()},
        }

    def parameters(self) -> dict[str, dict[str, Any]]:
        """The template's Parameters for this target."""
        found: dict[str, dict[str, Any]] = {}
        if self.is_serverless:
            found[Member.WORKGROUP_NAME.value] = _parameter(
                "The Redshift Serverless workgroup the SQL runs on", self.workgroup_name
            )
            found["WorkgroupId"] = _parameter(
                "The workgroup's id (IAM names a workgroup by its id: "
                "aws redshift-serverless get-workgroup --workgroup-name NAME)",
                None,
            )
        else:
            found[Member.CLUSTER_IDENTIFIER.value] = _parameter(
                "The Redshift cluster the SQL runs on", self.cluster_identifier
            )
            found[Member.DB_USER.value] = _parameter(
                "The database user the Data API connects as", self.db_user
            )
        found[Member.DATABASE.value] = _parameter("The database the SQL runs in", self.database)
        return found


def _parameter(description: str, default: str | None) -> dict[str, Any]:
    parameter: dict[str, Any] = {"Type": "String", "Description": description, "MinLength": 1}
    if default is not None:
        parameter["Default"] = default
    return parameter


def find_target(project: Project, calls: ProjectCalls, given: Mapping[str, str]) -> Target:
    """The target from `given` (Data API member -> value), else the project (see the module)."""
    found: dict[Member, str] = {}
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
                Member.CLUSTER_IDENTIFIER: remote.cluster_identifier,
                Member.WORKGROUP_NAME: remote.workgroup_name,
                Member.DATABASE: remote.database,
                Member.DB_USER: remote.db_user,
            }
            found = {member: value for member, value in named.items() if value}
            break
    project_values = dict(found)
    overrides = {Member(member): value for member, value in given.items()}
    if {Member.CLUSTER_IDENTIFIER, Member.WORKGROUP_NAME} & set(overrides):
        for member in (Member.CLUSTER_IDENTIFIER, Member.WORKGROUP_NAME, Member.DB_USER):
            found.pop(member, None)
    found.update(overrides)
    target = Target(
        database=found.get(Member.DATABASE, DEFAULT_DATABASE),
        cluster_identifier=found.get(Member.CLUSTER_IDENTIFIER),
        db_user=found.get(Member.DB_USER),
        workgroup_name=found.get(Member.WORKGROUP_NAME),
        project_values=project_values,
    )
    return _checked(target, calls)


def _checked(target: Target, calls: ProjectCalls) -> Target:
    if target.cluster_identifier and target.workgroup_name:
        raise ExportError("name a cluster or a workgroup, not both")
    if target.is_serverless:
        written = sorted(
            member
            for member in (Member.CLUSTER_IDENTIFIER, Member.DB_USER)
            if calls.target_values.get(member)
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
    if calls.target_values.get(Member.WORKGROUP_NAME):
        raise ExportError("the target is a cluster, but Data API tasks give WorkgroupName")
    return target
