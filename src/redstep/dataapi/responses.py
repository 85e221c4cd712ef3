"""Wire responses built from statement and session records: what DescribeStatement,
ExecuteStatement, ListStatements and ListSessions answer, with AWS's member names."""

from __future__ import annotations

from typing import Any

from redstep.dataapi.sessions import Session
from redstep.dataapi.shapes import (
    DescribeStatementResponse,
    ExecuteStatementOutput,
    SessionData,
    SqlParameter,
    StatementData,
    SubStatementData,
)
from redstep.dataapi.statements import StatementRecord, StatusString, SubStatementRecord, Target


def submitted_response(record: StatementRecord) -> ExecuteStatementOutput:
    """What ExecuteStatement and BatchExecuteStatement answer for a submitted statement."""
    response: ExecuteStatementOutput = {
        "Id": record.id,
        "CreatedAt": record.created_at,
        "Database": record.target.database,
        "Status": str(record.status),
    }
    put_target(response, record.target)
    if record.session_id:
        response["SessionId"] = record.session_id
    if record.redshift_pid:
        response["RedshiftPid"] = record.redshift_pid
    if record.status is StatusString.FINISHED:
        response["HasResultSet"] = record.has_result_set
    return response


def describe_response(record: StatementRecord, ordinal: int | None) -> DescribeStatementResponse:
    """What DescribeStatement answers for a statement, or for its `ordinal`-th sub-statement."""
    response: DescribeStatementResponse = {
        "Id": record.id,
        "CreatedAt": record.created_at,
        "UpdatedAt": record.updated_at,
        "Database": record.target.database,
        "Status": str(record.status),
        "RedshiftPid": record.redshift_pid,
        "ResultFormat": str(record.result_format),
    }
    put_target(response, record.target)
    if record.session_id:
        response["SessionId"] = record.session_id
    if record.parameters:
        response["QueryParameters"] = _parameters(record)
    if ordinal is not None:
        sub = _sub_data(record.sub_statements[ordinal - 1])
        response.update(sub)  # type: ignore[typeddict-item]
        return response
    response.update(
        {
            "Duration": record.duration_ns if record.status.is_terminal else -1,
            "HasResultSet": record.has_result_set,
            "RedshiftQueryId": record.redshift_query_id,
            "ResultRows": record.result_rows,
            "ResultSize": record.result_size,
        }
    )
    if record.error:
        response["Error"] = record.error
    if record.is_batch:
        response["SubStatements"] = [_sub_data(sub) for sub in record.sub_statements]
        if record.execution_mode is not None:
            response["ExecutionMode"] = str(record.execution_mode)
    else:
        response["QueryString"] = record.query_strings[0]
    return response


def put_target(response: Any, target: Target) -> None:
    """Echo the request's target members that were given."""
    if target.cluster_identifier:
        response["ClusterIdentifier"] = target.cluster_identifier
    if target.workgroup_name:
        response["WorkgroupName"] = target.workgroup_name
    if target.db_user:
        response["DbUser"] = target.db_user
    if target.secret_arn:
        response["SecretArn"] = target.secret_arn


def _parameters(record: StatementRecord) -> list[SqlParameter]:
    return [{"name": name, "value": value} for name, value in record.parameters]


def _sub_data(sub: SubStatementRecord) -> SubStatementData:
    data: SubStatementData = {
        "Id": sub.id,
        "Status": str(sub.status),
        "CreatedAt": sub.created_at,
        "UpdatedAt": sub.updated_at,
        "QueryString": sub.query_string,
        "Duration": sub.duration_ns if sub.status.is_terminal else -1,
        "HasResultSet": sub.has_result_set,
        "ResultRows": sub.result_rows,
        "ResultSize": sub.result_size,
        "RedshiftQueryId": sub.redshift_query_id,
    }
    if sub.error:
        data["Error"] = sub.error
    return data


def statement_data(record: StatementRecord) -> StatementData:
    """A statement as ListStatements lists it."""
    data: StatementData = {
        "Id": record.id,
        "Status": str(record.status),
        "CreatedAt": record.created_at,
        "UpdatedAt": record.updated_at,
        "IsBatchStatement": record.is_batch,
        "ResultFormat": str(record.result_format),
    }
    if record.is_batch:
        data["QueryStrings"] = list(record.query_strings)
    else:
        data["QueryString"] = record.query_strings[0]
    if record.statement_name is not None:
        data["StatementName"] = record.statement_name
    if record.parameters:
        data["QueryParameters"] = _parameters(record)
    if record.session_id:
        data["SessionId"] = record.session_id
    if record.target.secret_arn:
        data["SecretArn"] = record.target.secret_arn
    return data


def session_data(session: Session) -> SessionData:
    """A session as ListSessions lists it."""
    data: SessionData = {
        "SessionId": session.id,
        "Status": str(session.status),
        "CreatedAt": session.created_at,
        "UpdatedAt": session.updated_at,
        "Database": session.target.database,
        "SessionAliveSeconds": session.keep_alive_seconds,
        "SessionTtl": session.ttl,
    }
    put_target(data, session.target)
    if session.current_statement_id:
        data["CurrentStatementId"] = session.current_statement_id
    return data
