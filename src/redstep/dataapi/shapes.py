"""Wire shapes of the `redshift-data` API (2019-12-20), member names exactly as in botocore.

Requests arrive as plain mappings (parsed JSON, or what boto3 would send); responses leave as
these dicts, with datetimes as timezone-aware `datetime` objects for the HTTP layer to serialise.
A test checks every shape here against the botocore model, member by member.
"""

# No `from __future__ import annotations` here: TypedDict only sees `Required[...]` in
# evaluated annotations, and the shapes' required keys are checked at run time.

from datetime import datetime
from typing import Required, TypedDict


class SqlParameter(TypedDict):
    name: str
    value: str


class Field(TypedDict, total=False):
    """A union: exactly one member is set."""

    isNull: bool
    booleanValue: bool
    longValue: int
    doubleValue: float
    stringValue: str
    blobValue: bytes


class QueryRecords(TypedDict, total=False):
    """A union holding one page of CSV text."""

    CSVRecords: str


class ColumnMetadata(TypedDict, total=False):
    isCaseSensitive: bool
    isCurrency: bool
    isSigned: bool
    label: str
    name: str
    nullable: int
    precision: int
    scale: int
    schemaName: str
    tableName: str
    typeName: str
    length: int
    columnDefault: str


class _ExecuteCommon(TypedDict, total=False):
    ClusterIdentifier: str
    SecretArn: str
    DbUser: str
    Database: str
    WithEvent: bool
    StatementName: str
    Parameters: list[SqlParameter]
    WorkgroupName: str
    ClientToken: str
    ResultFormat: str
    SessionKeepAliveSeconds: int
    SessionId: str
    WaitTimeSeconds: int


class ExecuteStatementInput(_ExecuteCommon, total=False):
    Sql: Required[str]


class BatchExecuteStatementInput(_ExecuteCommon, total=False):
    Sqls: Required[list[str]]
    ExecutionMode: str


class ExecuteStatementOutput(TypedDict, total=False):
    """Also the shape of BatchExecuteStatementOutput: the two models have the same members."""

    Id: str
    CreatedAt: datetime
    ClusterIdentifier: str
    DbUser: str
    DbGroups: list[str]
    Database: str
    SecretArn: str
    WorkgroupName: str
    SessionId: str
    Status: str
    RedshiftPid: int
    HasResultSet: bool


BatchExecuteStatementOutput = ExecuteStatementOutput


class SubStatementData(TypedDict, total=False):
    Id: Required[str]
    Duration: int
    Error: str
    Status: str
    CreatedAt: datetime
    UpdatedAt: datetime
    QueryString: str
    ResultRows: int
    ResultSize: int
    RedshiftQueryId: int
    RedshiftQueryUuid: str
    HasResultSet: bool


class DescribeStatementResponse(TypedDict, total=False):
    Id: Required[str]
    SecretArn: str
    DbUser: str
    Database: str
    ClusterIdentifier: str
    Duration: int
    Error: str
    Status: str
    CreatedAt: datetime
    UpdatedAt: datetime
    RedshiftPid: int
    HasResultSet: bool
    QueryString: str
    ResultRows: int
    ResultSize: int
    RedshiftQueryId: int
    RedshiftQueryUuid: str
    QueryParameters: list[SqlParameter]
    SubStatements: list[SubStatementData]
    WorkgroupName: str
    ResultFormat: str
    SessionId: str
    ExecutionMode: str


class GetStatementResultResponse(TypedDict, total=False):
    Records: Required[list[list[Field]]]
    ColumnMetadata: list[ColumnMetadata]
    TotalNumRows: int
    NextToken: str


class GetStatementResultV2Response(TypedDict, total=False):
    Records: Required[list[QueryRecords]]
    ColumnMetadata: list[ColumnMetadata]
    TotalNumRows: int
    ResultFormat: str
    NextToken: str


class CancelStatementResponse(TypedDict):
    Status: bool


class StatementData(TypedDict, total=False):
    Id: Required[str]
    QueryString: str
    QueryStrings: list[str]
    SecretArn: str
    Status: str
    StatementName: str
    CreatedAt: datetime
    UpdatedAt: datetime
    QueryParameters: list[SqlParameter]
    IsBatchStatement: bool
    ResultFormat: str
    SessionId: str


class ListStatementsResponse(TypedDict, total=False):
    Statements: Required[list[StatementData]]
    NextToken: str


class ListDatabasesResponse(TypedDict, total=False):
    Databases: list[str]
    NextToken: str


class ListSchemasResponse(TypedDict, total=False):
    Schemas: list[str]
    NextToken: str


class TableMember(TypedDict, total=False):
    name: str
    type: str
    schema: str


class ListTablesResponse(TypedDict, total=False):
    Tables: list[TableMember]
    NextToken: str


class DescribeTableResponse(TypedDict, total=False):
    TableName: str
    ColumnList: list[ColumnMetadata]
    NextToken: str


class SessionData(TypedDict, total=False):
    SessionId: Required[str]
    Status: Required[str]
    CreatedAt: Required[datetime]
    UpdatedAt: datetime
    Database: str
    DbUser: str
    ClusterIdentifier: str
    WorkgroupName: str
    SessionAliveSeconds: int
    SessionTtl: datetime
    CurrentStatementId: str


class ListSessionsResponse(TypedDict, total=False):
    Sessions: Required[list[SessionData]]
    NextToken: str
