"""The sales data pipeline redriven: a fact load that failed runs again, and nothing before it.

1. The fact load's script is missing from the scripts bucket: the Lambda workflow's
   LoadStoreSales task fails (the function cannot read it) and the execution is FAILED, after
   setup and both dimension loads ran. The script is put back, the execution redriven: it
   succeeds, its history grows by ExecutionRedriven and the states from LoadStoreSales on, the
   Data API ran setup and the dimension loads once each (ListStatements), and every table holds
   the rows of an uninterrupted first run.
2. The Data API workflow routes a fact load that failed in its SQL to a Fail state, so its
   execution fails *in that state*. A redrive enters it again and fails again, running no SQL:
   as AWS redrives, a workflow that turns an error into a Fail state cannot be redriven past it
   (start a new execution instead).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from redstep.api.local_endpoint import LocalEndpoint
from redstep.cli import main
from redstep.cli.sql import run_sql
from redstep.project import load_project
from redstep.runtime.clock import VirtualClock
from redstep.services import Services
from redstep.web.progress import ExecutionProgress

RUN_SECONDS = 60.0
FACT_SCRIPT = "load_fact_store_sales.sql"
BEFORE_THE_FACTS = ("setup.sql", "load_dim_customer_address.sql", "load_dim_item.sql")
TABLES = {
    "customer": "c_customer_sk",
    "customer_address": "ca_address_sk",
    "date_dim": "d_date_sk",
    "item": "i_item_sk",
    "store_sales": "ss_sold_date_sk, ss_ticket_number, ss_item_sk",
}
"""The example's tables the pipeline loads, and the order their rows are compared in."""


def open_project(project: Path) -> Services:
    """The project's services on a virtual clock, with the endpoint its function's boto3
    clients call (attach it before running)."""
    endpoint = LocalEndpoint()
    services = Services.open(load_project(project), clock=VirtualClock(), endpoints=endpoint)
    endpoint.attach(services)
    return services


def statements_run(services: Services) -> Counter[str]:
    """How many batches the Data API ran for the workflow, by StatementName (every status)."""
    names: Counter[str] = Counter()
    request: dict[str, Any] = {"Status": "ALL", "MaxResults": 100}
    while True:
        page = services.dataapi.list_statements(request)
        names.update(s["StatementName"] for s in page["Statements"] if s.get("StatementName"))
        if "NextToken" not in page:
            return names
        request["NextToken"] = page["NextToken"]


def tables(services: Services) -> dict[str, list[list[Any]]]:
    """The loaded tables' rows, in a fixed order, read through the Data API."""
    rows = {}
    for table, order in TABLES.items():
        result = run_sql(services.dataapi, f"select * from {table} order by {order}")
        assert result is not None
        rows[table] = [list(row) for row in result.rows]
    return rows


def history(services: Services, arn: str) -> list[dict[str, Any]]:
    request = {"executionArn": arn, "maxResults": 1000}
    return list(services.engine.get_execution_history(request)["events"])


def entered(events: list[dict[str, Any]]) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in events
        if event["type"].endswith("StateEntered")
    ]


def test_a_fact_load_whose_script_was_missing_is_redriven_after_the_dimensions(
    sales_project: Path, backend: str
) -> None:
    script = sales_project / "sql" / FACT_SCRIPT
    hidden = script.with_name(FACT_SCRIPT + ".away")
    with open_project(sales_project) as services:
        script.rename(hidden)  # out of the bucket the function reads it from
        engine = services.engine
        machine = engine.region.state_machine_arn("sales_data_pipeline_lambda")
        arn = engine.start_execution({"stateMachineArn": machine, "input": "{}"})["executionArn"]
        failed = engine.wait(arn, RUN_SECONDS)
        assert (failed["status"], failed["redriveStatus"]) == ("FAILED", "REDRIVABLE"), failed
        assert failed["error"] == "NoSuchKey", failed
        first = history(services, arn)
        assert entered(first)[-1] == "LoadStoreSales"
        ran = statements_run(services)
        assert [ran[name] for name in BEFORE_THE_FACTS] == [1, 1, 1]
        assert ran[FACT_SCRIPT] == 0

        hidden.rename(script)  # repaired
        answer = engine.redrive_execution({"executionArn": arn})
        described = engine.wait(arn, RUN_SECONDS)
        assert described["status"] == "SUCCEEDED", described
        assert (described["redriveCount"], described["redriveDate"]) == (1, answer["redriveDate"])

        events = history(services, arn)
        assert events[: len(first)] == first
        again = events[len(first) :]
        assert again[0]["type"] == "ExecutionRedriven"
        assert again[0]["executionRedrivenEventDetails"] == {"redriveCount": 1}
        names = entered(again)
        assert names[0] == "LoadStoreSales"
        assert not {"Defaults", "Setup", "LoadDimensions"} & set(names)
        assert "LoadCustomerAddress" not in names
        assert "LoadItem" not in names
        ran = statements_run(services)
        assert [ran[name] for name in BEFORE_THE_FACTS] == [1, 1, 1]  # not run again
        assert (ran[FACT_SCRIPT], ran["validate.sql"]) == (1, 1)

        output = json.loads(described["output"])
        assert output["load_fact_store_sales"]["ResultRows"] == [0, 8]  # [deleted, inserted]
        assert output["load_dim_item"]["ResultRows"] == [1, 1, 1, 1, 3]  # the first run's
        sales = run_sql(
            services.dataapi,
            "select count(*), sum(ss_net_paid), count(ss_item_sk) from store_sales "
            "where ss_sold_date_sk = 2452642",
        )
        assert sales is not None
        assert [list(row) for row in sales.rows] == [[8, "127.96", 8]]

        # The same rows as a run that never failed: the pipeline is idempotent, so a whole
        # run now changes nothing.
        redriven = tables(services)
        whole = engine.start_execution({"stateMachineArn": machine, "input": "{}"})
        assert engine.wait(whole["executionArn"], RUN_SECONDS)["status"] == "SUCCEEDED"
        assert tables(services) == redriven

    # The console's live view follows the execution through its redrive ...
    progress = ExecutionProgress(keeps_data=False)
    statuses = []
    for event in events:
        progress.apply(event)
        statuses.append(progress.execution_status)
    assert statuses[len(first) - 1 : len(first) + 1] == ["FAILED", "RUNNING"]
    assert statuses[-1] == "SUCCEEDED"
    # ... and `redstep executions` reads it from the stopped project.
    project = ["--project", str(sales_project)]
    shown = CliRunner().invoke(main, ["executions", "history", *project, arn])
    assert shown.exit_code == 0, shown.output
    assert "ExecutionRedriven" in shown.output
    described = CliRunner().invoke(main, ["executions", "describe", *project, arn])
    assert described.exit_code == 0, described.output
    assert json.loads(described.output)["redriveCount"] == 1


def test_a_fact_load_failed_in_its_sql_fails_again_in_its_fail_state_when_redriven(
    sales_project: Path, backend: str
) -> None:
    with open_project(sales_project) as services:
        engine = services.engine
        machine = engine.region.state_machine_arn("sales_data_pipeline")
        first = engine.start_execution({"stateMachineArn": machine, "input": "{}"})
        assert engine.wait(first["executionArn"], RUN_SECONDS)["status"] == "SUCCEEDED"
        unknown_item = (
            "insert into stg_store_sales values ('2003-01-02', 'ITEM000000000099', "
            "'CUSTOMER00000001', 'ADDRESS000000001', 1201, 1, 1.00, 0.10)"
        )
        run_sql(services.dataapi, unknown_item)
        arn = engine.start_execution({"stateMachineArn": machine, "input": "{}"})["executionArn"]
        failed = engine.wait(arn, RUN_SECONDS)
        assert (failed["status"], failed["error"]) == ("FAILED", "FactLoadFailed")
        ran = statements_run(services)

        run_sql(services.dataapi, "delete from stg_store_sales where ss_ticket_number = 1201")
        engine.redrive_execution({"executionArn": arn})
        again = engine.wait(arn, RUN_SECONDS)
        assert (again["status"], again["error"]) == ("FAILED", "FactLoadFailed")
        events = history(services, arn)
        redriven = next(i for i, e in enumerate(events) if e["type"] == "ExecutionRedriven")
        assert [e["type"] for e in events[redriven:]] == [
            "ExecutionRedriven",
            "FailStateEntered",
            "ExecutionFailed",
        ]
        assert events[redriven + 1]["stateEnteredEventDetails"]["name"] == "LoadStoreSalesFailed"
        assert statements_run(services) == ran  # no SQL of the workflow ran again
