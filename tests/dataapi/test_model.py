"""The errors and wire shapes of this layer, checked against botocore's `redshift-data` model."""

from __future__ import annotations

import typing

import pytest

from redstep.dataapi import shapes
from redstep.dataapi.errors import ERRORS
from redstep.dataapi.validation import service_model


def test_every_modelled_error_has_a_class_with_its_members() -> None:
    model = service_model()
    modelled = {shape.name: shape for shape in model.error_shapes}
    assert set(ERRORS) == set(modelled)
    for name, error_class in ERRORS.items():
        members = set(modelled[name].members)
        if name == "ResourceNotFoundException":
            instance = error_class("m", resource_id="r")  # type: ignore[call-arg]
        elif name in ("ExecuteStatementException", "BatchExecuteStatementException"):
            instance = error_class("m", statement_id="s")  # type: ignore[call-arg]
        else:
            instance = error_class("m")
        assert set(instance.members()) == members, name
        assert instance.code == name


@pytest.mark.parametrize(
    ("typed_dict", "shape_name"),
    [
        (shapes.ExecuteStatementInput, "ExecuteStatementInput"),
        (shapes.BatchExecuteStatementInput, "BatchExecuteStatementInput"),
        (shapes.ExecuteStatementOutput, "ExecuteStatementOutput"),
        (shapes.ExecuteStatementOutput, "BatchExecuteStatementOutput"),
        (shapes.DescribeStatementResponse, "DescribeStatementResponse"),
        (shapes.SubStatementData, "SubStatementData"),
        (shapes.GetStatementResultResponse, "GetStatementResultResponse"),
        (shapes.GetStatementResultV2Response, "GetStatementResultV2Response"),
        (shapes.CancelStatementResponse, "CancelStatementResponse"),
        (shapes.StatementData, "StatementData"),
        (shapes.ListStatementsResponse, "ListStatementsResponse"),
        (shapes.ListDatabasesResponse, "ListDatabasesResponse"),
        (shapes.ListSchemasResponse, "ListSchemasResponse"),
        (shapes.ListTablesResponse, "ListTablesResponse"),
        (shapes.TableMember, "TableMember"),
        (shapes.DescribeTableResponse, "DescribeTableResponse"),
        (shapes.SessionData, "SessionData"),
        (shapes.ListSessionsResponse, "ListSessionsResponse"),
        (shapes.ColumnMetadata, "ColumnMetadata"),
        (shapes.Field, "Field"),
        (shapes.QueryRecords, "QueryRecords"),
        (shapes.SqlParameter, "SqlParameter"),
    ],
)
def test_shape_members_match_the_model(typed_dict: type, shape_name: str) -> None:
    shape = service_model().shape_for(shape_name)
    assert set(typing.get_type_hints(typed_dict)) == set(shape.members)
    required = set(getattr(shape, "required_members", []))
    assert required <= typed_dict.__required_keys__  # type: ignore[attr-defined]
