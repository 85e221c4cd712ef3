"""Each invocation's output, in its own log file, between Lambda's START, END and REPORT."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Lambdas

REPORT = (
    r"REPORT RequestId: {id}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
    r"Memory Size: 128 MB\tMax Memory Used: \d+ MB"
)
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def test_a_log_holds_all_an_invocation_wrote_between_lambdas_lines(
    lambdas: Lambdas, tmp_path: Path
) -> None:
    first_log, second_log = tmp_path / "logs" / "a" / "first.log", tmp_path / "second.log"
    first = lambdas.invoke("talk", {"say": "alpha"}, log=first_log)
    first.result(10)
    second = lambdas.invoke("talk", {"say": "beta"}, log=second_log)
    second.result(10)
    lines = first_log.read_text().splitlines()
    assert lines[:5] == [
        "app imported",  # the module's import, in the log of the invocation that caused it
        f"START RequestId: {first.request_id} Version: $LATEST",
        "stdout alpha",
        "stderr alpha",
        "child alpha",  # a child process, writing to the inherited descriptor
    ]
    assert re.fullmatch(rf"\[WARNING\]\t{STAMP}\t{first.request_id}\tlogged alpha", lines[5])
    assert lines[6:8] == ["done alpha", f"END RequestId: {first.request_id}"]
    assert re.fullmatch(
        REPORT.format(id=first.request_id) + r"\tInit Duration: [\d.]+ ms", lines[8]
    )
    assert len(lines) == 9
    lines = second_log.read_text().splitlines()
    assert lines[0] == f"START RequestId: {second.request_id} Version: $LATEST"
    assert "alpha" not in second_log.read_text()
    assert re.fullmatch(REPORT.format(id=second.request_id), lines[-1]), "a warm start"
    third = lambdas.invoke("talk", {"say": "gamma"}, log=first_log)
    third.result(10)
    assert first_log.read_text().splitlines()[9:11] == [
        f"START RequestId: {third.request_id} Version: $LATEST",
        "stdout gamma",
    ], "appended"


def test_concurrent_invocations_never_mix_their_logs(lambdas: Lambdas, tmp_path: Path) -> None:
    logs = {word: tmp_path / f"{word}.log" for word in ("left", "right")}
    running = [
        lambdas.invoke("talk", {"say": word, "seconds": 0.3}, log=path)
        for word, path in logs.items()
    ]
    for invocation in running:
        invocation.result(10)
    left, right = logs["left"].read_text(), logs["right"].read_text()
    assert ("stdout left" in left, "done left" in left, "right" in left) == (True, True, False)
    assert ("stdout right" in right, "done right" in right, "left" in right) == (True, True, False)


def test_an_exception_is_logged_as_the_runtime_logs_it(lambdas: Lambdas, tmp_path: Path) -> None:
    log = tmp_path / "fail.log"
    invocation = lambdas.invoke("fail", {"a": 1}, log=log)
    invocation.result(10)
    text = log.read_text()
    assert '[ERROR] ValueError: the input was {"a": 1}\nTraceback (most recent call last):\n' in (
        text
    )
    assert f'  File "{lambdas.root / "functions" / "app.py"}", line ' in text
    assert text.index("[ERROR]") < text.index(f"END RequestId: {invocation.request_id}")


def test_an_exit_and_a_timeout_are_logged_as_lambda_logs_them(
    lambdas: Lambdas, tmp_path: Path
) -> None:
    log = tmp_path / "ends.log"
    exited = lambdas.invoke("count", {"exit": 3}, log=log)
    exited.result(10)
    timed_out = lambdas.invoke("slow", {"seconds": 30}, log=log)
    timed_out.result(10)
    lines = log.read_text().splitlines()
    assert lines[:5] == [
        "app imported",
        f"START RequestId: {exited.request_id} Version: $LATEST",
        f"RequestId: {exited.request_id} Error: Runtime exited with error: exit status 3",
        "Runtime.ExitError",
        f"END RequestId: {exited.request_id}",
    ]
    assert re.fullmatch(REPORT.format(id=exited.request_id), lines[5])
    assert lines[6:8] == [
        "app imported",
        f"START RequestId: {timed_out.request_id} Version: $LATEST",
    ]
    pattern = rf"{STAMP} {timed_out.request_id} Task timed out after 1\.00 seconds"
    assert re.fullmatch(pattern, lines[8])
    assert lines[9] == f"END RequestId: {timed_out.request_id}"
    assert re.fullmatch(REPORT.format(id=timed_out.request_id), lines[10])
    assert len(lines) == 11


def test_without_a_log_the_output_is_discarded(lambdas: Lambdas, tmp_path: Path) -> None:
    before = set(tmp_path.rglob("*"))
    assert lambdas.answer(lambdas.call("talk", {"say": "nothing"})) == "nothing"
    assert set(tmp_path.rglob("*")) == before


def test_a_relative_log_is_taken_from_the_current_folder(
    lambdas: Lambdas, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    invocation = lambdas.invoke("count", {"exit": 3}, log=Path("logs") / "relative.log")
    invocation.result(10)
    lines = (elsewhere / "logs" / "relative.log").read_text().splitlines()
    assert lines[1:5] == [
        f"START RequestId: {invocation.request_id} Version: $LATEST",  # the worker's
        f"RequestId: {invocation.request_id} Error: Runtime exited with error: exit status 3",
        "Runtime.ExitError",  # redstep's
        f"END RequestId: {invocation.request_id}",
    ]
    assert not (lambdas.root / "logs").exists(), "not from the project folder"


@pytest.mark.parametrize("how", ["close", "redirect"])
def test_lambdas_lines_survive_a_handler_that_closes_or_moves_fd_1(
    lambdas: Lambdas, tmp_path: Path, how: str
) -> None:
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    for log in logs:
        invocation = lambdas.invoke("lose_stdout", {"how": how}, log=log)
        assert lambdas.answer(invocation.result(10)) == "lost"
        lines = log.read_text().splitlines()
        assert lines[-4:-1] == [
            f"START RequestId: {invocation.request_id} Version: $LATEST",
            f"before {how}",  # fd 1 is the log again for the next invocation
            f"END RequestId: {invocation.request_id}",
        ]
        assert re.fullmatch(REPORT.format(id=invocation.request_id) + ".*", lines[-1])


def test_what_a_thread_writes_after_the_handler_returned_goes_to_its_log(
    lambdas: Lambdas, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "late.log"
    invocation = lambdas.invoke("late", {"after": 0.2}, log=log)
    assert lambdas.answer(invocation.result(10)) == "early"
    lambdas.wait_until(lambda: "late from a thread" in log.read_text())
    lines = log.read_text().splitlines()
    assert lines[-1] == "late from a thread", "after REPORT, as CloudWatch would have it"
    assert lines[-2].startswith(f"REPORT RequestId: {invocation.request_id}")
    assert "late from a thread" not in capfd.readouterr().err, "not on redstep's terminal"
