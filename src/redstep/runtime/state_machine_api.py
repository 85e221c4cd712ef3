"""State machines as the Step Functions API tells them: CreateStateMachine, UpdateStateMachine,
DescribeStateMachine, ListStateMachines, DeleteStateMachine and ValidateStateMachineDefinition
(the Engine registers them), DescribeStateMachineForExecution's answer, and the lookup every
operation on a state machine's ARN shares.

Every update makes a new revision (`revisionId`); the store keeps each revision, so that an
execution is described, and runs, with the definition it started on. An EXPRESS definition is
held to what Express workflows may do (`redstep.runtime.express`).
"""

from __future__ import annotations

import functools
import uuid

from redstep.asl.model import StateMachine
from redstep.asl.parse import DefinitionError, parse_definition, validate_definition
from redstep.asl.references import variable_references
from redstep.runtime import express
from redstep.runtime.arns import Region, check_name, state_machine_name
from redstep.runtime.clock import Clock
from redstep.runtime.errors import (
    InvalidDefinition,
    MissingRequiredParameter,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
)
from redstep.runtime.messages import Request, Response, page
from redstep.runtime.store import ExecutionRecord, ExecutionStore, StateMachineRecord, StoreConflict
from redstep.runtime.tag_api import MAX_TAGS, tags_from_wire, too_many_tags
from redstep.runtime.tokens import encode_token
from redstep.runtime.validation import validate_request


def create_state_machine(
    store: ExecutionStore, clock: Clock, region: Region, request: Request
) -> Response:
    """CreateStateMachine: a new state machine, or the same one again (see
    `_same_state_machine`)."""
    validate_request("CreateStateMachine", request)
    name = check_name(request["name"])
    definition = request["definition"]
    role_arn = request["roleArn"]
    machine_type = request.get("type") or "STANDARD"
    _checked_definition(definition)
    if machine_type == express.EXPRESS:
        express.check_express_definition(definition)
    arn = region.state_machine_arn(name)
    tags = tags_from_wire(request.get("tags") or ())
    if len(tags) > MAX_TAGS:
        raise too_many_tags(arn)
    existing = store.get_state_machine(arn)
    if existing is not None:
        return _same_state_machine(existing, definition, machine_type)
    now = clock.now()
    record = StateMachineRecord(
        arn=arn,
        name=name,
        definition=definition,
        role_arn=role_arn,
        type=machine_type,
        creation_date=now,
        revision_id=uuid.uuid4().hex,
        description=str(request.get("description", "")),
        tags=tags,
    )
    try:
        store.put_state_machine(record)
    except StoreConflict:  # created by another caller since we looked
        existing = store.get_state_machine(arn)
        assert existing is not None
        return _same_state_machine(existing, definition, machine_type)
    return {"stateMachineArn": arn, "creationDate": now}


def update_state_machine(store: ExecutionStore, clock: Clock, request: Request) -> Response:
    """UpdateStateMachine: a new revision with a new definition, role, or both."""
    validate_request("UpdateStateMachine", request)
    current = existing_state_machine(store, request["stateMachineArn"])
    definition = request.get("definition", current.definition)
    if "definition" not in request and "roleArn" not in request:
        raise MissingRequiredParameter(
            "Either the definition, the role ARN, the LoggingConfiguration, or the "
            "TracingConfiguration must be specified"
        )
    _checked_definition(definition)
    if current.type == express.EXPRESS:
        express.check_express_definition(definition)
    now = clock.now()
    record = StateMachineRecord(
        arn=current.arn,
        name=current.name,
        definition=definition,
        role_arn=request.get("roleArn", current.role_arn),
        type=current.type,
        creation_date=current.creation_date,
        revision_id=uuid.uuid4().hex,
        update_date=now,
        description=current.description,
        tags=current.tags,
    )
    store.update_state_machine(record)
    return {"updateDate": now, "revisionId": record.revision_id}


def describe_state_machine(store: ExecutionStore, request: Request) -> Response:
    """DescribeStateMachine: the current revision."""
    validate_request("DescribeStateMachine", request)
    record = existing_state_machine(store, request["stateMachineArn"])
    response: Response = {
        "stateMachineArn": record.arn,
        "name": record.name,
        "status": "ACTIVE",
        "definition": record.definition,
        "roleArn": record.role_arn,
        "type": record.type,
        "creationDate": record.creation_date,
        "loggingConfiguration": {"level": "OFF", "includeExecutionData": False},
        "tracingConfiguration": {"enabled": False},
        "revisionId": record.revision_id,
    }
    if record.description:
        response["description"] = record.description
    _add_variable_references(response, record)
    return response


def describe_revision(store: ExecutionStore, execution: ExecutionRecord) -> Response:
    """DescribeStateMachineForExecution's answer: the revision `execution` started on."""
    record = store.get_revision(execution.state_machine_arn, execution.revision_id)
    if record is None:
        raise StateMachineDoesNotExist(
            f"State Machine Does Not Exist: '{execution.state_machine_arn}'"
        )
    response: Response = {
        "stateMachineArn": record.arn,
        "name": record.name,
        "definition": record.definition,
        "roleArn": record.role_arn,
        "updateDate": record.update_date or record.creation_date,
        "revisionId": record.revision_id,
        "loggingConfiguration": {"level": "OFF", "includeExecutionData": False},
        "tracingConfiguration": {"enabled": False},
    }
    _add_variable_references(response, record)
    return response


def list_state_machines(store: ExecutionStore, request: Request) -> Response:
    """ListStateMachines: by creation date, then name."""
    validate_request("ListStateMachines", request)
    machines = store.list_state_machines()
    offset, size = page(request, "list_state_machines")
    listed = machines[offset : offset + size]
    response: Response = {
        "stateMachines": [
            {
                "stateMachineArn": m.arn,
                "name": m.name,
                "type": m.type,
                "creationDate": m.creation_date,
            }
            for m in listed
        ]
    }
    if offset + size < len(machines):
        response["nextToken"] = encode_token("list_state_machines", [offset + size])
    return response


def delete_state_machine(store: ExecutionStore, request: Request) -> Response:
    """DeleteStateMachine: gone at once (its revisions stay for the executions that ran them);
    no error for a state machine that does not exist."""
    validate_request("DeleteStateMachine", request)
    arn = request["stateMachineArn"]
    state_machine_name(arn)
    store.delete_state_machine(arn)
    return {}


def validate_state_machine_definition(request: Request) -> Response:
    """ValidateStateMachineDefinition: every diagnostic of the definition, up to
    `maxResults`."""
    validate_request("ValidateStateMachineDefinition", request)
    validation = validate_definition(request["definition"])
    max_results = request.get("maxResults") or 100
    is_express = request.get("type") == express.EXPRESS
    refused = express.express_diagnostics(request["definition"]) if is_express else []
    diagnostics = [d.to_wire() for d in [*validation.diagnostics, *refused]]
    return {
        "result": "OK" if validation.is_ok and not refused else "FAIL",
        "diagnostics": diagnostics[:max_results],
        "truncated": len(diagnostics) > max_results,
    }


def existing_state_machine(store: ExecutionStore, arn: str) -> StateMachineRecord:
    """The state machine of `arn`: InvalidArn when it is no state machine's ARN,
    StateMachineDoesNotExist when there is none."""
    state_machine_name(arn)
    record = store.get_state_machine(arn)
    if record is None:
        raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'")
    return record


def _add_variable_references(response: Response, record: StateMachineRecord) -> None:
    """`variableReferences`, which AWS leaves out when no state reads a variable."""
    references = _references_of(record.definition)
    if references:
        response["variableReferences"] = {state: list(names) for state, names in references}


@functools.lru_cache(maxsize=256)
def _references_of(definition: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`variable_references`, once per definition text (a revision's never changes)."""
    return tuple((state, tuple(names)) for state, names in variable_references(definition).items())


def _checked_definition(definition: str) -> StateMachine:
    """The definition parsed; InvalidDefinition, listing every error, when it has any."""
    try:
        return parse_definition(definition)
    except DefinitionError as error:
        raise InvalidDefinition(str(error)) from None


def _same_state_machine(existing: StateMachineRecord, definition: str, kind: str) -> Response:
    """CreateStateMachine of a name that exists: the same machine again (AWS ignores the role
    and tags when it compares), or StateMachineAlreadyExists."""
    if existing.definition != definition or existing.type != kind:
        raise StateMachineAlreadyExists(f"State Machine Already Exists: '{existing.arn}'")
    return {"stateMachineArn": existing.arn, "creationDate": existing.creation_date}
