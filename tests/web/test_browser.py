"""The console in a real browser: Debian's Chromium, driven by Playwright, against `redstep serve`.

One test starts the sales pipeline from the page and watches its states change live, holding the
fact load on a PostgreSQL lock so that there is something to watch; it saves the screenshots CI
keeps under `.ci/artifacts/`. The other renders a state machine whose names, input, output and
error are markup, and checks that all of it stays text. Both skip, saying why, where Chromium is
not at /usr/bin/chromium or cannot be launched (`.ci/run` installs it with apt); Playwright's own
browser download is never used.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Error,
    Locator,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)
from serve_process import serving, stepfunctions

from redstep.cli.init import create_project

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # Without these Chromium reaches out to Google's services, and on a closed network those
    # refused connections slow it down and clutter its log.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT: ViewportSize = {"width": 1600, "height": 1500}
ARTIFACTS = Path(__file__).resolve().parents[2] / ".ci" / "artifacts"
REGION_ARN = "arn:aws:states:us-east-1:123456789012"
PIPELINE = "sales_data_pipeline"
RUN_DATE = "2003-01-02"
"""The pipeline's default run date (its `Defaults` state), which the page's `{}` input runs."""
WAIT_SECONDS = 30.0
WAIT_MS = WAIT_SECONDS * 1000

STATUS_LOG = """
// Every change of a graph state's data-status, in order, with the value it changed from and to.
// A batch of mutation records carries only the old values: a record's new value is the next
// record's old value for the same node, or the node's value now for its last record.
window.__statusLog = [];
new MutationObserver((records) => {
  const at = performance.now();
  const later = new Map();
  const rows = [];
  for (const record of [...records].reverse()) {
    const node = record.target;
    if (!(node instanceof Element) || !node.matches("g.state")) continue;
    const value = later.has(node) ? later.get(node) : node.getAttribute("data-status");
    later.set(node, record.oldValue);
    if (value === record.oldValue) continue;
    rows.push({ state: node.dataset.state, old: record.oldValue, new: value, at });
  }
  window.__statusLog.push(...rows.reverse());
}).observe(document, {
  subtree: true, attributes: true, attributeFilter: ["data-status"], attributeOldValue: true,
});
"""
"""Installed before the page's own script runs (an init script): the page's first events arrive
as soon as its EventSource connects, before a `page.evaluate` after the load could watch them."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, launched by Playwright; skips, saying why, where it cannot be."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium with apt)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        except Error as error:
            pytest.skip(f"Playwright cannot launch {CHROMIUM}: {error.message.splitlines()[0]}")
        yield launched
        launched.close()


@dataclass
class Watched:
    """A page, and what it did that no page of the console should do."""

    page: Page
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    """A fresh page in its own context, at the size of the CI screenshots, its status log
    installed; dialogs are dismissed and recorded, as are script errors and requests."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(WAIT_MS)
    context.add_init_script(STATUS_LOG)
    page = context.new_page()
    seen = Watched(page)

    def dismiss(dialog: Dialog) -> None:
        seen.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on("console", lambda message: note_console(seen, message))
    page.on("request", lambda request: seen.requests.append(request.url))
    yield seen
    context.close()


def note_console(seen: Watched, message: ConsoleMessage) -> None:
    """Errors the page logs count as script errors: a resource that failed to load, a script or
    a style the Content-Security-Policy refused."""
    if message.type == "error":
        seen.errors.append(f"console: {message.text}")


def arn_of(name: str) -> str:
    return f"{REGION_ARN}:stateMachine:{name}"


def ended(client: Any, execution_arn: str) -> dict[str, Any]:
    """DescribeExecution once the execution is no longer running."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        described = client.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return dict(described)
        assert time.monotonic() < deadline, f"{execution_arn} still runs"
        time.sleep(0.05)


def state(page: Page, name: str) -> Locator:
    """The graph's node for the state `name` (a CSS string: json.dumps escapes as CSS does for
    the characters a state's name may hold)."""
    return page.locator(f"svg.graph g.state[data-state={json.dumps(name)}]")


def show_whole_pane(page: Page, name: str) -> None:
    """Scroll the graph to the state `name`, then the page to the whole graph pane: the graph is
    taller than its pane, which is as tall as most of the window."""
    state(page, name).evaluate("node => node.scrollIntoView({ block: 'center' })")
    page.locator(".graph-pane").evaluate("pane => pane.scrollIntoView({ block: 'end' })")


def sales_loaded(url: str) -> int:
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "select count(*) from store_sales ss"
            " join date_dim d on d.d_date_sk = ss.ss_sold_date_sk where d.d_date = %s",
            (RUN_DATE,),
        ).fetchone()
    assert row is not None
    return int(row[0])


# -- the sales pipeline, live ----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.timeout(120)
def test_a_pipeline_started_from_the_page_shows_its_states_change_live(
    watched: Watched, tmp_path: Path, postgres_url: str
) -> None:
    page = watched.page
    project = create_project(tmp_path / "sales", example="sales", warehouse_url=postgres_url)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serving(project) as server:
        client = stepfunctions(server.url)
        first = client.start_execution(stateMachineArn=arn_of(PIPELINE), input="{}")
        assert ended(client, first["executionArn"])["status"] == "SUCCEEDED"  # the tables exist
        # The fact load starts with `delete from store_sales`, which waits for this lock; setup
        # and the dimension loads write other tables, so the run gets that far and holds there.
        with psycopg.connect(postgres_url) as holder:
            holder.execute("LOCK TABLE store_sales IN SHARE MODE")

            page.goto(f"{server.url}/_redstep/")
            page.locator("a.state-machine", has_text=re.compile(f"^{PIPELINE}$")).click()
            expect(page.locator("#execution-input")).to_have_value("{}")
            page.locator("#execution-input").fill("{}")
            page.locator("#start-execution").click()
            page.wait_for_url(re.compile(r"/_redstep/execution\?arn="))
            page.evaluate("window.__noReload = 1")

            # LoadStoreSales only submits the SQL (BatchExecuteStatement answers at once), so the
            # state the lock holds running is DescribeLoadStoreSales, which waits for it to end.
            expect(state(page, "DescribeLoadStoreSales")).to_have_attribute(
                "data-status", "running"
            )
            for name in ("Defaults", "Setup", "LoadDimensions", "LoadItem", "LoadStoreSales"):
                expect(state(page, name)).to_have_attribute("data-status", "succeeded")
            for name in ("Validate", "Done"):
                expect(state(page, name)).to_have_attribute("data-status", "not-started")
            expect(page.locator("#execution-status")).to_have_text("RUNNING")
            show_whole_pane(page, "DescribeLoadStoreSales")
            page.screenshot(path=ARTIFACTS / "console-execution.png")
            holder.rollback()

        expect(page.locator("#execution-status")).to_have_text("SUCCEEDED")
        expect(state(page, "Done")).to_have_attribute("data-status", "succeeded")
        # The execution's output, from its last event, and how long it ran.
        expect(page.locator("#execution-result section.execution-end pre")).to_contain_text(
            f'"run_date": "{RUN_DATE}"'
        )
        expect(page.locator("#execution-duration")).to_contain_text("ran")
        log: list[dict[str, Any]] = page.evaluate("window.__statusLog")
        assert page.evaluate("window.__noReload") == 1, "the page was reloaded"

        watched_states = [
            "LoadStoreSales",
            "DescribeLoadStoreSales",
            "Validate",
            "DescribeValidate",
            "Done",
        ]
        # Each was seen running and then succeeded, and only that: none is missing from the log.
        for name in watched_states:
            changes = [(row["old"], row["new"]) for row in log if row["state"] == name]
            assert changes == [("not-started", "running"), ("running", "succeeded")], (name, log)
        first_running = [
            next(i for i, row in enumerate(log) if row["state"] == name and row["new"] == "running")
            for name in watched_states
        ]
        assert first_running == sorted(first_running), log
        succeeded = {
            row["state"]: i
            for i, row in enumerate(log)
            if row["new"] == "succeeded" and row["state"] in watched_states
        }
        assert succeeded["LoadStoreSales"] < first_running[watched_states.index("Validate")]
        assert max(succeeded, key=succeeded.__getitem__) == "Done", log

        state(page, "LoadStoreSales").click()
        expect(page.locator("#state-detail-name")).to_have_text("LoadStoreSales")
        loaded = sales_loaded(postgres_url)
        assert loaded > 0
        rows = page.locator("#state-statements tr[data-statement-id]")
        insert = rows.filter(has_text="insert into store_sales")
        delete = rows.filter(has_text="delete from store_sales")
        for row in (insert, delete):
            expect(row).to_have_count(1)
            expect(row.locator("td.status")).to_have_text("FINISHED")
        expect(insert.locator("td.rows")).to_have_text(str(loaded))
        # The first run inserted the same sales for the run date, which this run deleted.
        expect(delete.locator("td.rows")).to_have_text(str(loaded))
        show_whole_pane(page, "LoadStoreSales")
        page.screenshot(path=ARTIFACTS / "console-state-detail.png")
    assert watched.errors == []
    assert watched.dialogs == []


# -- markup in names, input, output and errors -----------------------------------------------------

HOSTILE = "<img src=x onerror=alert(1)>"
"""A state's name that, written as markup, would run a script."""
BREAKOUT = "</text></g></svg><img src=x onerror=alert(3)>"
"""A name that would close the graph's SVG first."""
INPUT = {"note": "<img src=x onerror=alert(6)>", "quote": "\"'&amp;"}
RESULT = {"html": "<script>alert(2)</script>"}
ERROR = "<img src=x onerror=alert(4)>"
CAUSE = "<script>alert(5)</script><b>bold</b>"
HOSTILE_MACHINE = {
    "StartAt": HOSTILE,
    "States": {
        HOSTILE: {"Type": "Pass", "Result": RESULT, "Next": BREAKOUT},
        BREAKOUT: {"Type": "Fail", "Error": ERROR, "Cause": CAUSE},
    },
}


def pretty(value: object) -> str:
    """JSON as the page shows an input or an output (JSON.stringify(value, null, 2))."""
    return json.dumps(value, indent=2)


def assert_text(locator: Locator, text: str) -> None:
    """The element shows `text`, exactly: waited for as Playwright matches text (whitespace
    collapsed), then compared character for character."""
    expect(locator).to_have_text(text)
    assert locator.text_content() == text


def assert_no_markup_ran(seen: Watched) -> None:
    """No img element in the document, nothing fetched for one, no script run by one."""
    assert seen.page.locator("img").count() == 0
    assert seen.page.evaluate("document.getElementsByTagName('img').length") == 0
    assert [url for url in seen.requests if urllib.parse.urlsplit(url).path.endswith("/x")] == []
    assert seen.dialogs == []
    assert seen.errors == []


def test_markup_in_names_input_output_and_errors_is_shown_as_text(
    watched: Watched, tmp_path: Path
) -> None:
    page = watched.page
    project = create_project(tmp_path / "sales", example="sales")
    with serving(project) as server:
        client = stepfunctions(server.url)
        machine = client.create_state_machine(
            name="hostile",
            definition=json.dumps(HOSTILE_MACHINE),
            roleArn="arn:aws:iam::123456789012:role/redstep",
        )["stateMachineArn"]
        execution = client.start_execution(stateMachineArn=machine, input=json.dumps(INPUT))
        assert ended(client, execution["executionArn"])["status"] == "FAILED"

        arn = urllib.parse.quote(execution["executionArn"], safe="")
        page.goto(f"{server.url}/_redstep/execution?arn={arn}")
        expect(page.locator("#execution-status")).to_have_text("FAILED")
        expect(state(page, HOSTILE)).to_have_attribute("data-status", "succeeded")
        expect(state(page, BREAKOUT)).to_have_attribute("data-status", "failed")
        expect(page.locator("#history tbody tr[data-event-id]")).not_to_have_count(0)
        assert_text(state(page, HOSTILE).locator("text"), HOSTILE)
        assert_text(state(page, BREAKOUT).locator("text"), BREAKOUT)
        assert_text(page.locator("#execution-result pre"), f"{ERROR}\n{CAUSE}")

        state(page, HOSTILE).click()
        assert_text(page.locator("#state-detail-name"), HOSTILE)
        assert_text(page.locator("section.detail-input pre"), pretty(INPUT))
        assert_text(page.locator("section.detail-output pre"), pretty(RESULT))
        state(page, BREAKOUT).click()
        assert_text(page.locator("#state-detail-name"), BREAKOUT)
        assert_text(page.locator("section.detail-error pre"), f"{ERROR}\n{CAUSE}")
        assert_text(page.locator("section.detail-input pre"), pretty(RESULT))
        page.locator("#history details").last.evaluate("details => { details.open = true; }")
        expect(page.locator("#history pre").last).to_contain_text(CAUSE)
        assert_no_markup_ran(watched)

        page.goto(f"{server.url}/_redstep/state-machine?arn={urllib.parse.quote(machine, safe='')}")
        assert_text(state(page, HOSTILE).locator("text"), HOSTILE)
        assert_text(state(page, BREAKOUT).locator("text"), BREAKOUT)
        expect(page.locator("section.graph-pane details pre")).to_contain_text(HOSTILE)
        assert_no_markup_ran(watched)

        page.goto(f"{server.url}/_redstep/executions")
        expect(page.locator("#executions tr[data-status=FAILED] a.execution")).to_have_text(
            execution["executionArn"].rpartition(":")[2]
        )
        assert_no_markup_ran(watched)
