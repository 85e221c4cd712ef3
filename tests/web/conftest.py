"""Fixtures for the console's tests: projects served by a live `App` (with or without
credentials), a client that reads the pages and the event stream, and the sales example after
two runs."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import live_server

from redstep.api.app import App
from redstep.api.local_endpoint import open_services
from redstep.api.sigv4 import Credentials
from redstep.cli.init import create_project
from redstep.project import load_project
from redstep.services import Services

ROOT = "/_redstep"
CREDENTIALS = Credentials("AKID", "SECRET")
RUN_SECONDS = 30.0
ROLE = "arn:aws:iam::123456789012:role/console-tests"
MACHINES: dict[str, dict[str, Any]] = {
    "hello": {
        "StartAt": "Greet",
        "States": {
            "Greet": {"Type": "Pass", "Result": "hello", "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    },
    "sleepy": {
        "StartAt": "Sleep",
        "States": {"Sleep": {"Type": "Wait", "Seconds": 60, "End": True}},
    },
}
"""The small project's state machines: one that succeeds at once, one that waits a minute."""


# -- reading pages ----------------------------------------------------------------------------

VOID = frozenset({"meta", "link", "input", "br", "img", "hr", "source", "wbr", "area", "base"})


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The element's text, its descendants' included, whitespace squeezed."""
        parts = list(self.texts)
        for child in self.children:
            parts.append(child.text)
        return " ".join(" ".join(parts).split())

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def iter(self) -> Iterator[Element]:
        for child in self.children:
            yield child
            yield from child.iter()

    def select(self, tag: str = "", *, id: str = "", cls: str = "", **attrs: str) -> list[Element]:
        """Descendants by tag, id, class and attributes (`data_state=` for `data-state`; an
        empty value only asks for the attribute)."""
        found = []
        for element in self.iter():
            if tag and element.tag != tag:
                continue
            if id and element.attrs.get("id") != id:
                continue
            if cls and cls not in element.classes:
                continue
            wanted = {name.replace("_", "-"): value for name, value in attrs.items()}
            if any(
                name not in element.attrs or (value and element.attrs[name] != value)
                for name, value in wanted.items()
            ):
                continue
            found.append(element)
        return found

    def one(self, tag: str = "", **criteria: str) -> Element:
        (element,) = self.select(tag, **criteria)
        return element


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].texts.append(data)


def parse_html(text: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


# -- a console over HTTP ------------------------------------------------------------------------


@dataclass
class Console:
    """A live server of `App(services)` and a client of it that follows no redirect."""

    url: str
    services: Services
    http: httpx.Client

    def get(self, path: str, **params: str) -> httpx.Response:
        """GET `path` (which may hold a query) with `params` added."""
        return self.http.get(path, params=params or None)

    def page(self, path: str, **params: str) -> Element:
        """A page that must answer 200, parsed."""
        response = self.get(path, **params)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        assert response.headers["content-type"].startswith("text/html")
        return parse_html(response.text)

    @staticmethod
    def parse(text: str) -> Element:
        return parse_html(text)

    def events(
        self, arn: str, *, headers: dict[str, Any] | None = None, **params: str
    ) -> httpx.Response:
        """GET the execution's event stream (to its end: the execution has ended)."""
        return self.http.get(
            f"{ROOT}/execution/events", params={"arn": arn, **params}, headers=headers or {}
        )

    def csrf(self) -> str:
        """The token the console's pages carry."""
        return self.page(f"{ROOT}/").one("meta", name="csrf-token").attrs["content"]

    def post(
        self,
        path: str,
        body: Any,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """A POST of the console, JSON `body`, with `token` (none when None)."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            sent["X-Redstep-Csrf"] = token
        return self.http.post(path, content=json.dumps(body), headers=sent)

    def machine_arn(self, name: str) -> str:
        return str(self.services.engine.region.state_machine_arn(name))

    def executions(self, machine: str) -> list[dict[str, Any]]:
        listed = self.services.engine.list_executions(
            {"stateMachineArn": self.machine_arn(machine)}
        )
        return list(listed["executions"])

    def create(self, name: str, definition: dict[str, Any]) -> str:
        """Create a state machine in process; its ARN."""
        created = self.services.engine.create_state_machine(
            {"name": name, "definition": json.dumps(definition), "roleArn": ROLE}
        )
        return str(created["stateMachineArn"])

    def run(self, machine: str, given: str = "{}", name: str | None = None) -> dict[str, Any]:
        """Start `machine` in process and wait for its end; DescribeExecution's answer."""
        engine = self.services.engine
        request = {"stateMachineArn": self.machine_arn(machine), "input": given}
        if name is not None:
            request["name"] = name
        started = engine.start_execution(request)
        described: dict[str, Any] = engine.wait(started["executionArn"], timeout=RUN_SECONDS)
        assert described["status"] != "RUNNING", described
        return described


@pytest.fixture
def small_project(tmp_path: Path) -> Path:
    """A project declaring MACHINES and a bucket."""
    (tmp_path / "workflows").mkdir()
    (tmp_path / "data").mkdir()
    lines = ['[buckets.data]\npath = "data"\n']
    for name, definition in MACHINES.items():
        (tmp_path / "workflows" / f"{name}.asl.json").write_text(json.dumps(definition))
        lines.append(f'[state_machines.{name}]\ndefinition = "workflows/{name}.asl.json"\n')
    (tmp_path / "redstep.toml").write_text("\n".join(lines))
    return tmp_path


@pytest.fixture
def small_services(small_project: Path) -> Iterator[Services]:
    with Services.open(load_project(small_project)) as services:
        yield services


@contextmanager
def serving(services: Services, credentials: Credentials | None) -> Iterator[Console]:
    """A live server of `App(services, credentials=credentials)`, and a client of it; the app
    is closed after (its layout worker stopped)."""
    app = App(services, credentials=credentials)
    with (
        contextlib.closing(app),
        live_server(app) as url,
        httpx.Client(base_url=url, follow_redirects=False, timeout=30) as http,
    ):
        yield Console(url, services, http)


@pytest.fixture
def console(small_services: Services) -> Iterator[Console]:
    """The small project's console, on a server without credentials."""
    with serving(small_services, None) as served:
        yield served


@pytest.fixture
def signed_console(small_services: Services) -> Iterator[Console]:
    """The small project's console, on a server holding CREDENTIALS."""
    with serving(small_services, CREDENTIALS) as served:
        yield served


@dataclass(frozen=True)
class SalesRuns:
    """The sales example after a run for 2003-01-02 (succeeded) and one for 2003-01-05 (failed:
    no sales that day), served without credentials."""

    console: Console
    succeeded: dict[str, Any]
    failed: dict[str, Any]


@pytest.fixture(scope="module")
def sales_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SalesRuns]:
    """The sales example's two runs, served for the whole module (a run takes a second)."""
    folder = create_project(tmp_path_factory.mktemp("sales") / "sales", example="sales")
    with open_services(load_project(folder)) as services, serving(services, None) as console:
        started = time.monotonic()
        succeeded = console.run("sales_data_pipeline", "{}", name="first-run")
        failed = console.run("sales_data_pipeline", '{"run_date": "2003-01-05"}', name="no-sales")
        assert (succeeded["status"], failed["status"]) == ("SUCCEEDED", "FAILED")
        assert time.monotonic() - started < RUN_SECONDS
        yield SalesRuns(console, succeeded, failed)


@pytest.fixture
def sales(sales_served: SalesRuns) -> Iterator[SalesRuns]:
    """The sales example's runs, with a client of the test's own: a connection a server error
    closed in one test is not another test's failure."""
    served = sales_served.console
    with httpx.Client(base_url=served.url, follow_redirects=False, timeout=30) as http:
        yield SalesRuns(
            Console(served.url, served.services, http), sales_served.succeeded, sales_served.failed
        )
