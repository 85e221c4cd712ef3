"""The backend registry: a URL scheme picks a backend, a typo gets a suggestion; and the
`redshift-data://` URL, read by its backend's parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from redstep.warehouse import WarehouseOptions, WarehouseUrlError, check_url
from redstep.warehouse.redshift_url import RedshiftTarget, parse_redshift_url
from redstep.warehouse.registry import open_warehouse


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("duckdb:///:memory:", "duckdb"),
        ("duckdb:///.redstep/warehouse.duckdb", "duckdb"),
        ("duckdb:////tmp/absolute.duckdb", "duckdb"),
        ("postgresql://postgres@127.0.0.1:5432/test", "postgresql"),
        ("postgres://postgres@localhost/test", "postgres"),
        ("redshift-data://sales-cluster/dev?db_user=awsuser", "redshift-data"),
        ("redshift-data://workgroup:analytics/dev", "redshift-data"),
        ("REDSHIFT-DATA://sales-cluster/dev?secret_arn=arn:aws:secretsmanager:x", "redshift-data"),
    ],
)
def test_known_schemes_are_accepted(url: str, scheme: str) -> None:
    assert check_url(url) == scheme


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///x.db", "unknown warehouse scheme 'sqlite'"),
        ("postgresq://h/db", "did you mean 'postgresql'"),
        ("warehouse.duckdb", "is not a warehouse URL"),
        ("duckdb:///", "names no database file"),
        ("postgresql://", "names neither a host nor a database"),
        ("redshift-data:/sales-cluster/dev", "is not a warehouse URL.*redshift-data://"),
        ("redshift-date://c/dev?db_user=u", "did you mean 'redshift-data'"),
        ("redshift-data:///dev?db_user=u", "names no cluster"),
        ("redshift-data://workgroup:/dev", "names no workgroup"),
        (
            "redshift-data://sales-cluster:5439/dev?db_user=u",
            "names no cluster .'sales-cluster:5439' has a colon.; expected",
        ),
        ("redshift-data://awsuser@sales-cluster/dev", r"give it as \?db_user=<user>"),
        ("redshift-data://sales-cluster?db_user=u", "names no database"),
        ("redshift-data://sales-cluster/?db_user=u", "names no database"),
        ("redshift-data://sales-cluster/dev/extra?db_user=u", "names no database .one"),
        (
            "redshift-data://sales-cluster/dev?db_user=u&user=v",
            r"unknown query key 'user' \(known: db_user, region, secret_arn\)",
        ),
        ("redshift-data://sales-cluster/dev?db_user=", "must give db_user= once, with a value"),
        ("redshift-data://c/dev?db_user=u&db_user=v", "must give db_user= once"),
        (
            "redshift-data://workgroup:analytics/dev?db_user=u",
            "db_user= for a workgroup: Serverless derives the user from IAM",
        ),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(WarehouseUrlError, match=message):
        check_url(url)


def test_a_relative_duckdb_path_resolves_against_the_project(tmp_path: Path) -> None:
    warehouse = open_warehouse(
        "duckdb:///.redstep/warehouse.duckdb", WarehouseOptions(root=tmp_path)
    )
    try:
        assert (warehouse.name, warehouse.database) == ("duckdb", "dev")
        warehouse.connect().execute("create table t (a int)")
    finally:
        warehouse.close()
    assert (tmp_path / ".redstep" / "warehouse.duckdb").is_file()


@pytest.mark.parametrize(
    ("url", "target", "members"),
    [
        (
            "redshift-data://sales-cluster/dev?db_user=awsuser",
            RedshiftTarget(database="dev", cluster_identifier="sales-cluster", db_user="awsuser"),
            {"ClusterIdentifier": "sales-cluster", "Database": "dev", "DbUser": "awsuser"},
        ),
        (
            "redshift-data://workgroup:analytics/sales%20db?region=eu-west-1&secret_arn=arn%3Ax",
            RedshiftTarget(
                database="sales db", workgroup_name="analytics", secret_arn="arn:x",
                region="eu-west-1",
            ),
            {"WorkgroupName": "analytics", "Database": "sales db", "SecretArn": "arn:x"},
        ),
        (
            "redshift-data://WorkGroup:Analytics/dev",
            RedshiftTarget(database="dev", workgroup_name="Analytics"),
            {"WorkgroupName": "Analytics", "Database": "dev"},
        ),
        (  # the IAM identity's own database user (GetClusterCredentialsWithIAM)
            "redshift-data://sales-cluster/dev?region=eu-west-1",
            RedshiftTarget("dev", "sales-cluster", region="eu-west-1"),
            {"ClusterIdentifier": "sales-cluster", "Database": "dev"},
        ),
        (
            "redshift-data://c1/dev?secret_arn=arn:s&db_user=u",
            RedshiftTarget("dev", "c1", db_user="u", secret_arn="arn:s"),
            {"ClusterIdentifier": "c1", "Database": "dev", "DbUser": "u", "SecretArn": "arn:s"},
        ),
    ],
)  # fmt: skip
def test_redshift_urls_name_their_target_and_its_request_members(
    url: str, target: RedshiftTarget, members: dict[str, str]
) -> None:
    parsed = parse_redshift_url(url)
    assert parsed == target
    assert parsed.request_members() == members
    assert parsed.request_members("other")["Database"] == "other"
