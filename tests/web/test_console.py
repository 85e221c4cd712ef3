"""The console over HTTP, through a live server of `App(services)`: its pages and their security
headers, markup in names and values, CSRF, starting, stopping and redriving, the event stream,
a state's details, signing in, and the AWS endpoints beside it."""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import TYPE_CHECKING, Any

import boto3
import httpx
from botocore.config import Config

from redstep import __version__
from redstep.cli.sql import run_sql

if TYPE_CHECKING:
    from conftest import Console, Element, SalesRuns

ROOT = "/_redstep"
MARKUP_NAME = "<img src=x onerror=alert(1)>"
QUOTED_NAME = '"><svg onload=alert(4)>'
MARKUP_ERROR = "<b>Err</b>"
MARKUP_CAUSE = "<script>alert(2)</script>"
MARKUP_INPUT = json.dumps({"note": "</script><script>alert(3)</script>"})
MARKED = {
    "StartAt": MARKUP_NAME,
    "States": {
        MARKUP_NAME: {"Type": "Pass", "Next": QUOTED_NAME},
        QUOTED_NAME: {"Type": "Fail", "Error": MARKUP_ERROR, "Cause": MARKUP_CAUSE},
    },
}
"""A state machine whose state names, error and cause are markup."""
SALES = "sales_data_pipeline"
SALES_LAMBDA = "sales_data_pipeline_lambda"
SALES_STATES = 30 + 18  # the top level's, and the two branches' of LoadDimensions
EVIL = "http://evil.example"


def sse_messages(text: str) -> list[dict[str, str]]:
    """A server-sent event stream's messages, each a field -> value mapping."""
    messages = []
    for block in re.split(r"\n\n", text):
        if not block.strip():
            continue
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            fields[name] = value
        messages.append(fields)
    return messages


def check_security_headers(response: httpx.Response) -> None:
    policy = {
        directive.split()[0]: directive.split()[1:]
        for directive in response.headers["content-security-policy"].split(";")
        if directive.strip()
    }
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert not any("'unsafe-inline'" in values for values in policy.values())
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


def page(console: Console, path: str, **params: str) -> tuple[httpx.Response, Element]:
    """A page that answers 200 with the security headers and no inline script, parsed."""
    response = console.get(path, **params)
    assert response.status_code == 200, (path, params, response.status_code, response.text[:300])
    check_security_headers(response)
    document = console.parse(response.text)
    for script in document.select("script"):
        assert "src" in script.attrs or script.attrs.get("type") == "application/json", script
    return response, document


def texts(elements: list[Element]) -> list[str]:
    return [element.text for element in elements]


def stream(
    console: Console, arn: str, *, headers: dict[str, str] | None = None, **params: str
) -> list[dict[str, Any]]:
    """The event stream of an ended execution: its messages' data, the `end` event last."""
    response = console.events(arn, headers=headers, **params)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/event-stream")
    messages = sse_messages(response.text)
    assert messages[-1] == {"event": "end", "data": "{}"}, messages[-1]
    data = []
    for message in messages[:-1]:
        assert set(message) == {"id", "data"}, message
        decoded = json.loads(message["data"])
        assert int(message["id"]) == decoded["events"][-1]["id"]
        data.append(decoded)
    return data


def history(console: Console, arn: str) -> list[dict[str, Any]]:
    events = console.services.engine.get_execution_history(
        {"executionArn": arn, "maxResults": 1000}
    )
    return list(events["events"])


def visited(events: list[dict[str, Any]]) -> set[str]:
    return {
        event["stateEnteredEventDetails"]["name"]
        for event in events
        if event["type"].endswith("StateEntered")
    }


def final_changes(data: list[dict[str, Any]]) -> dict[str, str]:
    shown: dict[str, str] = {}
    for message in data:
        for event in message["events"]:
            shown.update(event["changes"])
    return shown


def wait_for_statement(console: Console, statement_id: str) -> dict[str, Any]:
    for _ in range(30):
        described = dict(
            console.services.dataapi.describe_statement({"Id": statement_id, "WaitTimeSeconds": 1})
        )
        if described["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            return described
    raise AssertionError(f"statement {statement_id} did not end")


# -- the pages, for the sales example after two runs -------------------------------------------


def test_the_state_machines_page_lists_the_projects_machines(sales: SalesRuns) -> None:
    _, document = page(sales.console, f"{ROOT}/")
    table = document.one("table", id="state-machines")
    assert sorted(texts(table.select("a", cls="state-machine"))) == [SALES, SALES_LAMBDA]
    token = document.one("meta", name="csrf-token").attrs["content"]
    assert re.fullmatch(r"[0-9a-f]{64}", token)


def test_the_state_machine_page_draws_the_graph_and_offers_a_start(sales: SalesRuns) -> None:
    arn = sales.succeeded["stateMachineArn"]
    _, document = page(sales.console, f"{ROOT}/state-machine", arn=arn)
    assert document.one("section", id="start").attrs["data-state-machine-arn"] == arn
    assert document.one("textarea", id="execution-input").text == "{}"
    assert document.select("input", id="execution-name")
    assert document.select("button", id="start-execution")
    graph = document.one("svg", cls="graph")
    states = graph.select("g", cls="state")
    assert len(states) == SALES_STATES
    kinds = {state.attrs["data-state"]: state.attrs["data-type"] for state in states}
    assert (kinds["Setup"], kinds["IsSetupFinished"], kinds["LoadDimensions"]) == (
        "Task",
        "Choice",
        "Parallel",
    )
    assert (kinds["SetupFailed"], kinds["Defaults"]) == ("Fail", "Pass")
    assert {state.attrs["data-status"] for state in states} == {"not-started"}
    assert len(graph.select("rect", cls="group-parallel")) == 1
    assert len(graph.select("rect", cls="group-branch")) == 2


def execution_rows(document: Element) -> dict[str, str]:
    """Execution name -> its status, as the executions page lists them."""
    if not document.select("table", id="executions"):
        assert document.select("p", cls="empty")
        return {}
    rows = document.one("table", id="executions").select("tr", data_status="")
    return {row.one("a", cls="execution").text: row.attrs["data-status"] for row in rows}


def test_the_executions_page_filters_by_status_and_state_machine(sales: SalesRuns) -> None:
    console = sales.console
    _, everything = page(console, f"{ROOT}/executions")
    assert execution_rows(everything) == {"first-run": "SUCCEEDED", "no-sales": "FAILED"}
    _, failed = page(console, f"{ROOT}/executions", status="FAILED")
    assert execution_rows(failed) == {"no-sales": "FAILED"}
    _, succeeded = page(console, f"{ROOT}/executions", status="SUCCEEDED")
    assert execution_rows(succeeded) == {"first-run": "SUCCEEDED"}
    _, aborted = page(console, f"{ROOT}/executions", status="ABORTED")
    assert execution_rows(aborted) == {}
    sales_arn = console.machine_arn(SALES)
    _, by_machine = page(console, f"{ROOT}/executions", stateMachineArn=sales_arn)
    assert execution_rows(by_machine) == {"first-run": "SUCCEEDED", "no-sales": "FAILED"}
    _, other = page(
        console, f"{ROOT}/executions", stateMachineArn=console.machine_arn(SALES_LAMBDA)
    )
    assert execution_rows(other) == {}
    _, both = page(console, f"{ROOT}/executions", status="FAILED", stateMachineArn=sales_arn)
    assert execution_rows(both) == {"no-sales": "FAILED"}
    link = everything.one(
        "a",
        cls="execution",
        href=f"{ROOT}/execution?arn={urllib.parse.quote(sales.failed['executionArn'], safe='')}",
    )
    assert link.text == "no-sales"


def test_the_execution_page_shows_status_graph_and_data(sales: SalesRuns) -> None:
    arn = sales.succeeded["executionArn"]
    _, document = page(sales.console, f"{ROOT}/execution", arn=arn)
    assert document.one(id="execution-status").text == "SUCCEEDED"
    assert document.select("button", id="stop-execution")
    assert document.select("button", id="redrive-execution")
    assert len(document.one("svg", cls="graph").select("g", cls="state")) == SALES_STATES
    assert document.select("table", id="history")
    data = json.loads(document.one("script", id="execution-data").text)
    assert data["executionArn"] == arn
    assert data["events"] == f"{ROOT}/execution/events?arn={urllib.parse.quote(arn, safe='')}"
    _, failed = page(sales.console, f"{ROOT}/execution", arn=sales.failed["executionArn"])
    assert failed.one(id="execution-status").text == "FAILED"


def test_an_unknown_execution_is_an_error_page_with_aws_code(sales: SalesRuns) -> None:
    response = sales.console.get(f"{ROOT}/execution", arn="<script>alert(5)</script>")
    assert response.status_code == 400
    check_security_headers(response)
    assert "<script>alert(5)" not in response.text
    missing = sales.succeeded["executionArn"].replace("first-run", "never-ran")
    response = sales.console.get(f"{ROOT}/execution", arn=missing)
    assert response.status_code == 400
    assert sales.console.parse(response.text).one("h1").text == "ExecutionDoesNotExist"


def test_the_statements_page_lists_statements_with_sql_and_rows(sales: SalesRuns) -> None:
    _, document = page(sales.console, f"{ROOT}/statements")
    rows = document.one("table", id="statements").select("tr", data_statement_id="")
    assert len(rows) == 10  # five steps, one batch each, in each of the two runs
    names = [row.one("a", cls="statement").text for row in rows]
    assert sorted(set(names)) == [
        "load_dim_customer_address.sql",
        "load_dim_item.sql",
        "load_fact_store_sales.sql",
        "setup.sql",
        "validate.sql",
    ]
    fact = [
        row for row in rows if row.one("a", cls="statement").text == "load_fact_store_sales.sql"
    ]
    sqls = [row.one("td", cls="sql").text for row in fact]
    assert all("delete from store_sales" in sql for sql in sqls), sqls
    _, finished = page(sales.console, f"{ROOT}/statements", status="FINISHED")
    finished_rows = finished.one("table", id="statements").select("tr", data_statement_id="")
    assert len(finished_rows) == 10 - 1  # the second run's validation failed


def test_the_statement_page_previews_a_result(sales: SalesRuns) -> None:
    console = sales.console
    sql = "select 1 as one, null as nothing, true as yes, from_hex('616263') as bytes"
    submitted = console.services.dataapi.execute_statement({"Sql": sql, "Database": "dev"})
    assert wait_for_statement(console, submitted["Id"])["Status"] == "FINISHED"
    _, document = page(console, f"{ROOT}/statement", id=submitted["Id"])
    assert document.one("pre", cls="sql").text == sql
    result = document.one("table", cls="result")
    assert texts(result.select("th")) == ["one", "nothing", "yes", "bytes"]
    assert texts(result.select("td")) == ["1", "NULL", "true", "(binary, 3 bytes)"]
    assert re.search(r"\b1 of 1 rows?\b", document.text), document.text
    _, listed = page(console, f"{ROOT}/statements")
    assert listed.select("tr", data_statement_id=submitted["Id"])
    unknown = console.get(f"{ROOT}/statement", id="00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 400
    assert console.parse(unknown.text).one("h1").text == "ResourceNotFoundException"


def test_a_batch_statement_page_shows_each_sub_statement(sales: SalesRuns) -> None:
    detail = sales.console.get(
        f"{ROOT}/execution/state", arn=sales.succeeded["executionArn"], name="LoadStoreSales"
    ).json()
    (statement,) = detail["visits"][0]["statements"]
    _, document = page(sales.console, f"{ROOT}/statement", id=statement["Id"])
    parts = document.select("section", cls="sub-statement")
    assert [part.attrs["data-statement-id"] for part in parts] == [
        f"{statement['Id']}:1",
        f"{statement['Id']}:2",
    ]
    assert parts[0].one("pre", cls="sql").text.startswith("delete from store_sales")
    assert parts[1].one("pre", cls="sql").text.startswith("insert into store_sales")


def test_the_static_script_is_served(sales: SalesRuns) -> None:
    response = sales.console.get(f"{ROOT}/static/console.js")
    assert response.status_code == 200
    assert "EventSource" in response.text


# -- a state's details, and the event stream ---------------------------------------------------


def test_the_state_detail_of_the_fact_load_names_its_statements(sales: SalesRuns) -> None:
    console = sales.console
    response = console.get(
        f"{ROOT}/execution/state", arn=sales.succeeded["executionArn"], name="LoadStoreSales"
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    detail = response.json()
    assert (detail["name"], detail["status"], len(detail["visits"])) == (
        "LoadStoreSales",
        "succeeded",
        1,
    )
    (visit,) = detail["visits"]
    assert (visit["status"], visit["retries"], visit["failures"]) == ("succeeded", 0, [])
    (statement,) = visit["statements"]
    assert statement["Status"] == "FINISHED"
    delete, insert = statement["SubStatements"]
    assert delete["QueryString"].startswith("delete from store_sales")
    assert insert["QueryString"].startswith("insert into store_sales")
    assert (delete["Status"], insert["Status"]) == ("FINISHED", "FINISHED")
    counted = run_sql(
        console.services.dataapi,
        "select count(*) from store_sales join date_dim on ss_sold_date_sk = d_date_sk "
        "where d_date = '2003-01-02'",
    )
    assert counted is not None
    ((rows,),) = counted.rows
    assert int(rows) == 8
    assert (delete["ResultRows"], insert["ResultRows"]) == (0, int(rows))
    # The poll that follows names the same batch, once: its sub-statements come inside it.
    polled = console.get(
        f"{ROOT}/execution/state",
        arn=sales.succeeded["executionArn"],
        name="DescribeLoadStoreSales",
    ).json()
    assert [each["Id"] for each in polled["visits"][0]["statements"]] == [statement["Id"]]


def test_the_state_detail_of_a_state_never_entered(sales: SalesRuns) -> None:
    detail = sales.console.get(
        f"{ROOT}/execution/state", arn=sales.succeeded["executionArn"], name="SetupFailed"
    ).json()
    assert detail == {"name": "SetupFailed", "status": "not-started", "visits": []}


def test_the_event_stream_of_an_ended_execution(sales: SalesRuns) -> None:
    console = sales.console
    for described, failing in ((sales.succeeded, set()), (sales.failed, {"ValidateFailed"})):
        arn = described["executionArn"]
        events = history(console, arn)
        data = stream(console, arn)
        ids = [event["id"] for message in data for event in message["events"]]
        assert ids == list(range(1, len(events) + 1))
        assert data[-1]["status"] == described["status"]
        names = visited(events)
        assert final_changes(data) == {
            name: ("failed" if name in failing else "succeeded") for name in names
        }
        rows = [event for message in data for event in message["events"]]
        assert [row["type"] for row in rows] == [event["type"] for event in events]
        for row in rows:
            if row["type"].endswith("StateEntered"):
                assert row["step"] == row["details"]["name"]
        assert rows[0]["step"] is None  # ExecutionStarted


def test_the_event_stream_resumes_after_an_event(sales: SalesRuns) -> None:
    console = sales.console
    arn = sales.succeeded["executionArn"]
    count = len(history(console, arn))
    for resumed in (
        stream(console, arn, after="7"),
        stream(console, arn, headers={"Last-Event-ID": "7"}),
    ):
        ids = [event["id"] for message in resumed for event in message["events"]]
        assert ids == list(range(8, count + 1))
    beyond = stream(console, arn, after=str(count))
    assert beyond == []


def test_a_last_event_id_that_is_not_a_number_streams_from_the_start(sales: SalesRuns) -> None:
    console = sales.console
    arn = sales.succeeded["executionArn"]
    count = len(history(console, arn))
    for value in ("x", "-1", "\xb2"):  # "²" is a digit to str.isdigit, not to int()
        response = console.events(arn, headers={"Last-Event-ID": value.encode("latin-1")})
        assert response.status_code == 200, (value, response.status_code)
        messages = sse_messages(response.text)
        ids = [
            event["id"]
            for message in messages[:-1]
            for event in json.loads(message["data"])["events"]
        ]
        assert ids == list(range(1, count + 1)), value


def test_the_event_stream_follows_a_running_execution_to_its_end(console: Console) -> None:
    started = console.post(
        f"{ROOT}/start",
        {"stateMachineArn": console.machine_arn("sleepy"), "input": "{}"},
        token=console.csrf(),
    )
    arn = started.json()["executionArn"]
    messages: list[dict[str, str]] = []
    with console.http.stream("GET", f"{ROOT}/execution/events", params={"arn": arn}) as response:
        assert response.status_code == 200
        fields: dict[str, str] = {}
        for line in response.iter_lines():
            if line:
                name, _, value = line.partition(": ")
                fields[name] = value
                continue
            message, fields = fields, {}
            messages.append(message)
            if message.get("event") == "end":
                break
            batch = json.loads(message["data"])
            if any(event["changes"].get("Sleep") == "running" for event in batch["events"]):
                assert batch["status"] == "RUNNING"
                console.services.engine.stop_execution({"executionArn": arn})
    assert messages[-1] == {"event": "end", "data": "{}"}
    data = [json.loads(message["data"]) for message in messages[:-1]]
    ids = [event["id"] for message in data for event in message["events"]]
    assert ids == list(range(1, len(history(console, arn)) + 1))
    assert final_changes(data) == {"Sleep": "cancelled"}
    assert data[-1]["status"] == "ABORTED"


def test_the_state_detail_and_stream_of_an_unknown_execution_answer_aws_errors(
    sales: SalesRuns,
) -> None:
    missing = sales.succeeded["executionArn"].replace("first-run", "never-ran")
    for path in ("execution/state", "execution/events"):
        response = sales.console.get(f"{ROOT}/{path}", arn=missing, name="Setup")
        assert response.status_code == 400, path
        assert response.json()["error"] == "ExecutionDoesNotExist", path


# -- markup in names, errors and input -----------------------------------------------------------

ESCAPED_NAME = "&lt;img src=x onerror=alert(1)&gt;"


def test_markup_in_state_names_error_cause_and_input_stays_text(console: Console) -> None:
    console.create("marked", MARKED)
    described = console.run("marked", MARKUP_INPUT, name="markup")
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED",
        MARKUP_ERROR,
        MARKUP_CAUSE,
    )
    arn = described["executionArn"]
    machine = console.get(f"{ROOT}/state-machine", arn=described["stateMachineArn"])
    execution = console.get(f"{ROOT}/execution", arn=arn)
    listed = console.get(f"{ROOT}/executions")
    machines = console.get(f"{ROOT}/")
    for response in (machine, execution, listed, machines):
        assert response.status_code == 200
        check_security_headers(response)
        assert "<img src=x" not in response.text
        assert "<svg onload" not in response.text
        assert "<script>alert" not in response.text
        assert "<b>Err" not in response.text
    for response in (machine, execution):
        assert ESCAPED_NAME in response.text
        states = console.parse(response.text).one("svg", cls="graph").select("g", cls="state")
        assert [state.attrs["data-state"] for state in states] == [MARKUP_NAME, QUOTED_NAME]
        assert [state.one("text").text for state in states] == [MARKUP_NAME, QUOTED_NAME]
    assert execution_rows(console.parse(listed.text)) == {"markup": "FAILED"}
    # The input shows as text; the page's JSON data block stays whole.
    assert "&lt;/script&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in execution.text
    block = re.search(
        r'<script type="application/json" id="execution-data">(.*?)</script>',
        execution.text,
        re.DOTALL,
    )
    assert block is not None
    assert "<" not in block.group(1)
    assert json.loads(block.group(1))["executionArn"] == arn
    document = console.parse(execution.text)
    assert json.loads(document.one("pre", id="execution-input").text) == json.loads(MARKUP_INPUT)


def test_the_state_detail_returns_names_and_errors_verbatim(console: Console) -> None:
    console.create("marked", MARKED)
    arn = console.run("marked", MARKUP_INPUT, name="markup")["executionArn"]
    first = console.get(f"{ROOT}/execution/state", arn=arn, name=MARKUP_NAME).json()
    assert (first["name"], first["status"]) == (MARKUP_NAME, "succeeded")
    (visit,) = first["visits"]
    assert json.loads(visit["input"]) == json.loads(MARKUP_INPUT)
    failing = console.get(f"{ROOT}/execution/state", arn=arn, name=QUOTED_NAME).json()
    assert (failing["name"], failing["status"]) == (QUOTED_NAME, "failed")
    (visit,) = failing["visits"]
    assert [(failure["error"], failure["cause"]) for failure in visit["failures"]] == [
        (MARKUP_ERROR, MARKUP_CAUSE)
    ]
    data = stream(console, arn)
    assert final_changes(data) == {MARKUP_NAME: "succeeded", QUOTED_NAME: "failed"}
    assert data[-1]["status"] == "FAILED"


# -- CSRF, starting, stopping, redriving ---------------------------------------------------------


def test_a_start_without_the_pages_token_is_refused(console: Console) -> None:
    token = console.csrf()
    body = {"stateMachineArn": console.machine_arn("hello"), "input": "{}"}
    refusals = [
        console.post(f"{ROOT}/start", body),
        console.post(f"{ROOT}/start", body, token="0" * 64),
        console.post(f"{ROOT}/start", body, token=token[::-1]),
        console.post(f"{ROOT}/start", body, token=token, headers={"Origin": EVIL}),
        console.post(f"{ROOT}/start", body, token=token, headers={"Sec-Fetch-Site": "cross-site"}),
        console.post(f"{ROOT}/start", body, token=token, headers={"Sec-Fetch-Site": "same-site"}),
    ]
    for refused in refusals:
        assert refused.status_code == 403
        assert refused.json()["error"] == "Forbidden"
    assert console.executions("hello") == []


def test_a_start_with_the_pages_token_starts_the_execution(console: Console) -> None:
    token = console.csrf()
    body = {
        "stateMachineArn": console.machine_arn("hello"),
        "input": '{"who": "me"}',
        "name": "mine",
    }
    started = console.post(
        f"{ROOT}/start",
        body,
        token=token,
        headers={"Origin": console.url, "Sec-Fetch-Site": "same-origin"},
    )
    assert started.status_code == 200, started.text
    answer = started.json()
    arn = answer["executionArn"]
    assert arn.endswith(":hello:mine")
    assert answer["url"] == f"{ROOT}/execution?arn={urllib.parse.quote(arn, safe='')}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", answer["startDate"])
    described = console.services.engine.wait(arn, timeout=10)
    assert (described["status"], described["input"]) == ("SUCCEEDED", '{"who": "me"}')
    assert [execution["executionArn"] for execution in console.executions("hello")] == [arn]
    assert console.get(answer["url"]).status_code == 200


def test_a_start_with_bad_input_or_an_unknown_machine_answers_aws_errors(console: Console) -> None:
    token = console.csrf()
    bad = console.post(
        f"{ROOT}/start",
        {"stateMachineArn": console.machine_arn("hello"), "input": "not json"},
        token=token,
    )
    assert bad.status_code == 400
    answer = bad.json()
    assert answer["error"] == "InvalidExecutionInput"
    assert answer["message"].startswith("Invalid State Machine Execution Input: '")
    assert answer["message"].endswith(": not json'")
    missing = console.machine_arn("nothing-here")
    unknown = console.post(
        f"{ROOT}/start", {"stateMachineArn": missing, "input": "{}"}, token=token
    )
    assert unknown.status_code == 400
    assert unknown.json() == {
        "error": "StateMachineDoesNotExist",
        "message": f"State Machine Does Not Exist: '{missing}'",
    }
    for body in ("[1, 2]", "{"):
        response = console.http.post(
            f"{ROOT}/start", content=body, headers={"X-Redstep-Csrf": token}
        )
        assert response.status_code == 400, body
        assert response.json()["error"] == "ValidationException", body
    assert console.executions("hello") == []


def test_stop_aborts_a_running_execution_and_redrive_runs_it_again(console: Console) -> None:
    token = console.csrf()
    started = console.post(
        f"{ROOT}/start",
        {"stateMachineArn": console.machine_arn("sleepy"), "input": "{}"},
        token=token,
    ).json()
    arn = started["executionArn"]
    assert console.services.engine.describe_execution({"executionArn": arn})["status"] == "RUNNING"
    assert console.post(f"{ROOT}/stop", {"executionArn": arn}).status_code == 403
    stopped = console.post(f"{ROOT}/stop", {"executionArn": arn}, token=token)
    assert stopped.status_code == 200, stopped.text
    assert "stopDate" in stopped.json()
    described = console.services.engine.describe_execution({"executionArn": arn})
    assert described["status"] == "ABORTED"
    _, document = page(console, f"{ROOT}/execution", arn=arn)
    assert document.one(id="execution-status").text == "ABORTED"
    redriven = console.post(f"{ROOT}/redrive", {"executionArn": arn}, token=token)
    assert redriven.status_code == 200, redriven.text
    assert "redriveDate" in redriven.json()
    again = console.post(f"{ROOT}/redrive", {"executionArn": arn}, token=token)
    assert again.status_code == 400
    assert again.json() == {
        "error": "ExecutionNotRedrivable",
        "message": "Execution is RUNNING and cannot be redriven",
    }
    assert console.post(f"{ROOT}/stop", {"executionArn": arn}, token=token).status_code == 200
    data = stream(console, arn)
    assert final_changes(data) == {"Sleep": "cancelled"}
    types = [event["type"] for message in data for event in message["events"]]
    assert types[-3:] == ["ExecutionRedriven", "WaitStateEntered", "ExecutionAborted"]
    assert data[-1]["status"] == "ABORTED"


# -- signing in ----------------------------------------------------------------------------------


def sign_in_form(console: Console, location: str) -> tuple[str, str]:
    """The sign-in page's form: where it posts, and its CSRF token."""
    _, document = page(console, location)
    form = document.one("form", cls="sign-in")
    return form.attrs["action"], form.one("input", name="csrf").attrs["value"]


def test_with_credentials_the_console_asks_to_sign_in(signed_console: Console) -> None:
    console = signed_console
    refused = console.get(f"{ROOT}/executions", status="SUCCEEDED")
    assert refused.status_code == 303
    location = refused.headers["location"]
    target = f"{ROOT}/executions?status=SUCCEEDED"
    assert location == f"{ROOT}/sign-in?next={urllib.parse.quote(target, safe='')}"
    call = console.get(f"{ROOT}/execution/state", arn="x", name="y")
    assert call.status_code == 401
    assert call.json()["error"] == "NotSignedIn"
    start = console.post(
        f"{ROOT}/start", {"stateMachineArn": console.machine_arn("hello"), "input": "{}"}, token="x"
    )
    assert start.status_code == 401

    action, token = sign_in_form(console, location)
    wrong = console.http.post(
        action, data={"csrf": token, "access_key": "AKID", "secret_key": "wrong"}
    )
    assert wrong.status_code == 401
    assert "set-cookie" not in wrong.headers
    assert console.parse(wrong.text).select("p", cls="error")
    assert not console.http.cookies

    without_token = console.http.post(action, data={"access_key": "AKID", "secret_key": "SECRET"})
    assert without_token.status_code == 403
    assert "set-cookie" not in without_token.headers

    right = console.http.post(
        action, data={"csrf": token, "access_key": "AKID", "secret_key": "SECRET"}
    )
    assert right.status_code == 303
    assert right.headers["location"] == target
    cookie = right.headers["set-cookie"]
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert attributes[0].startswith("redstep_console=")
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "path=/_redstep/" in attributes
    assert "max-age=43200" in attributes

    _, document = page(console, target)
    assert document.select("button", id="sign-out")
    session_token = document.one("meta", name="csrf-token").attrs["content"]
    assert session_token != token  # the token follows the session
    started = console.post(
        f"{ROOT}/start",
        {"stateMachineArn": console.machine_arn("hello"), "input": "{}"},
        token=session_token,
    )
    assert started.status_code == 200, started.text
    assert len(console.executions("hello")) == 1


def test_signing_in_never_redirects_off_the_console(signed_console: Console) -> None:
    console = signed_console
    _, token = sign_in_form(console, f"{ROOT}/sign-in")
    for target in ("//evil.example/", f"{EVIL}/", "/elsewhere", f"{ROOT}/executions"):
        console.http.cookies.clear()
        response = console.http.post(
            f"{ROOT}/sign-in",
            params={"next": target},
            data={"csrf": token, "access_key": "AKID", "secret_key": "SECRET"},
        )
        assert response.status_code == 303, target
        expected = target if target.startswith(f"{ROOT}/") else f"{ROOT}/"
        assert response.headers["location"] == expected, target


def test_signing_out_ends_the_session(signed_console: Console) -> None:
    console = signed_console
    _, token = sign_in_form(console, f"{ROOT}/sign-in")
    console.http.post(
        f"{ROOT}/sign-in", data={"csrf": token, "access_key": "AKID", "secret_key": "SECRET"}
    )
    session_token = console.csrf()
    assert console.http.post(f"{ROOT}/sign-out").status_code == 403
    out = console.http.post(f"{ROOT}/sign-out", headers={"X-Redstep-Csrf": session_token})
    assert out.status_code == 303
    assert out.headers["location"] == f"{ROOT}/sign-in"
    assert console.get(f"{ROOT}/").status_code == 303


def test_a_session_cookie_outside_ascii_asks_to_sign_in_again(signed_console: Console) -> None:
    response = signed_console.http.get(
        f"{ROOT}/",
        headers={"Cookie": b"redstep_console=1700000000.\xe9t\xe9"},  # type: ignore[dict-item]
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"{ROOT}/sign-in?next=")


def test_a_csrf_token_outside_ascii_is_refused(signed_console: Console) -> None:
    console = signed_console
    _, token = sign_in_form(console, f"{ROOT}/sign-in")
    console.http.post(
        f"{ROOT}/sign-in", data={"csrf": token, "access_key": "AKID", "secret_key": "SECRET"}
    )
    refused = console.http.post(
        f"{ROOT}/start",
        content=json.dumps({"stateMachineArn": console.machine_arn("hello"), "input": "{}"}),
        headers={"X-Redstep-Csrf": b"\xe9" * 64},  # type: ignore[dict-item]
    )
    assert refused.status_code == 403
    assert console.executions("hello") == []


def test_with_credentials_the_aws_endpoints_still_need_a_signature(
    signed_console: Console,
) -> None:
    console = signed_console
    _, token = sign_in_form(console, f"{ROOT}/sign-in")
    console.http.post(
        f"{ROOT}/sign-in", data={"csrf": token, "access_key": "AKID", "secret_key": "SECRET"}
    )
    assert console.http.cookies  # signed in to the console: it changes nothing for AWS calls
    unsigned = console.http.post(
        "/",
        content="{}",
        headers={
            "X-Amz-Target": "AWSStepFunctions.ListStateMachines",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    assert unsigned.status_code == 403
    assert unsigned.json()["__type"] == "MissingAuthenticationTokenException"
    stepfunctions = boto3.client(
        "stepfunctions",
        endpoint_url=console.url,
        region_name="us-east-1",
        aws_access_key_id="AKID",
        aws_secret_access_key="SECRET",
        config=Config(retries={"max_attempts": 1}),
    )
    names = [machine["name"] for machine in stepfunctions.list_state_machines()["stateMachines"]]
    assert sorted(names) == ["hello", "sleepy"]


# -- the console beside the AWS endpoints ---------------------------------------------------


def test_without_credentials_the_console_answers_loopback_names_only(console: Console) -> None:
    for path in (f"{ROOT}/", f"{ROOT}/executions", f"{ROOT}/sign-in"):
        refused = console.http.get(path, headers={"Host": "evil.example"})
        assert refused.status_code == 403, path
    refused = console.http.post(
        f"{ROOT}/start", content="{}", headers={"Host": "evil.example:8080"}
    )
    assert refused.status_code == 403
    for host in ("localhost", "127.0.0.1:1234", "[::1]"):
        assert console.http.get(f"{ROOT}/", headers={"Host": host}).status_code == 200, host


def test_a_browsers_get_of_the_root_goes_to_the_console_and_s3_still_lists_buckets(
    console: Console,
) -> None:
    browser = console.http.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.status_code == 303
    assert browser.headers["location"] == f"{ROOT}/"
    redirected = console.http.get(ROOT)
    assert (redirected.status_code, redirected.headers["location"]) == (303, f"{ROOT}/")
    s3 = boto3.client(
        "s3",
        endpoint_url=console.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    assert [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]] == ["data"]
    plain = console.http.get("/")
    assert plain.status_code == 200
    assert "<ListAllMyBucketsResult" in plain.text


def test_health_still_answers_json(console: Console) -> None:
    response = console.get(f"{ROOT}/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok", "version": __version__}
