"""Deploying an exported project: uploads, then a CloudFormation change set, then the stack's
events until it settles.

The uploads are every file of each bucket the stack uses (a project bucket's folder, key for
key, to the S3 bucket its parameter names), each function's package (built here, its
requirements installed for Lambda), and the template itself when it is too large to send in the
call (51,200 bytes). The stack is created or updated through a change set whose changes are
printed before it runs; a change set with nothing in it ends the deployment there.

A dry run changes nothing anywhere: it reads the stack's current template (if the stack exists)
and prints the uploads and the changes the new template makes to it, resource by resource.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redstep.deploy.errors import DeployError
from redstep.deploy.packages import Installer, build_zip, pip_install
from redstep.deploy.template import Export
from redstep.project import Project

TEMPLATE_BODY_LIMIT = 51_200
"""Bytes: the largest template CloudFormation takes in the call itself."""
TEMPLATE_PREFIX = "redstep/templates"
CAPABILITIES = ["CAPABILITY_IAM"]
"""The stack creates IAM roles (with names CloudFormation makes up)."""
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
"""How a FAILED change set says there was nothing to change."""
SUCCEEDED = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE"})
"""How a stack a deployment changed must end."""
UNUSABLE = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"})
"""Stack statuses from which CloudFormation takes no update: the stack must be deleted first."""

Say = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Upload:
    """One object to put in S3: a project file, a built package, or the template."""

    bucket: str
    key: str
    source: Path | None
    """The file, or None for what the deployment makes (a package, the template)."""
    package: str | None = None
    """The function whose package this is."""

    @property
    def address(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a deployment ended: the stack's status, and whether the deployment changed it."""

    status: str
    is_changed: bool

    @property
    def is_success(self) -> bool:
        return self.status in SUCCEEDED or not self.is_changed


@dataclass(frozen=True, slots=True)
class Deployment:
    """What deploying an export to a stack takes."""

    stack_name: str
    export: Export
    parameters: Mapping[str, str]
    """Every template parameter's value: its default, or what the caller gave."""
    uploads: tuple[Upload, ...]
    template_text: str
    template_upload: Upload | None
    """Where the template goes when it is too large for the call; None when it is not."""


def plan_deployment(
    project: Project, export: Export, stack_name: str, given: Mapping[str, str]
) -> Deployment:
    """The parameters' values, the uploads and the template's text for a deployment."""
    declared: Mapping[str, Any] = export.template.get("Parameters", {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise DeployError(
            f"the template has no parameter {unknown[0]} (it has: {', '.join(declared) or 'none'})"
        )
    parameters = {name: given.get(name, spec.get("Default")) for name, spec in declared.items()}
    missing = sorted(name for name, value in parameters.items() if value is None)
    if missing:
        raise DeployError(
            f"give a value for {', '.join(missing)}: --parameter {missing[0]}=…"
            f" ({declared[missing[0]]['Description']})"
        )
    values: dict[str, str] = {name: str(value) for name, value in parameters.items()}
    uploads: list[Upload] = []
    for bucket, parameter in export.buckets.items():
        folder = project.buckets[bucket]
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if path.is_file() and not any(p.startswith(".") for p in relative.parts):
                uploads.append(Upload(values[parameter], relative.as_posix(), path))
    code_bucket = values.get(export.code_bucket_parameter or "")
    for name, package in export.packages.items():
        assert code_bucket is not None  # a package means a code bucket parameter
        uploads.append(Upload(code_bucket, package.key, None, package=name))
    text = json.dumps(export.template, separators=(",", ":"))
    template_upload = None
    if len(text.encode()) > TEMPLATE_BODY_LIMIT:
        artifacts = code_bucket or next(iter(values[p] for p in export.buckets.values()), None)
        if artifacts is None:
            raise DeployError(
                f"the template is {len(text.encode())} bytes, over CloudFormation's "
                f"{TEMPLATE_BODY_LIMIT} for a template sent in the call, and the stack uses no "
                "bucket to upload it to: give --code-bucket"
            )
        digest = hashlib.sha256(text.encode()).hexdigest()[:24]
        template_upload = Upload(artifacts, f"{TEMPLATE_PREFIX}/{stack_name}/{digest}.json", None)
    return Deployment(stack_name, export, values, tuple(uploads), text, template_upload)


def template_changes(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """What a new template changes, resource by resource: `Add`, `Modify` or `Remove`, the
    logical id and the type, in the new template's order (removals last)."""
    before: Mapping[str, Any] = (old or {}).get("Resources", {})
    after: Mapping[str, Any] = new.get("Resources", {})
    changes = []
    for name, resource in after.items():
        if name not in before:
            changes.append(f"Add     {name}  {resource['Type']}")
        elif before[name] != resource:
            changes.append(f"Modify  {name}  {resource['Type']}")
    for name, resource in before.items():
        if name not in after:
            changes.append(f"Remove  {name}  {resource.get('Type', '?')}")
    return changes


class Deployer:
    """Carries out a deployment with boto3's `s3` and `cloudformation` clients."""

    def __init__(
        self,
        s3: Any,
        cloudformation: Any,
        say: Say,
        *,
        install: Installer = pip_install,
        sleep: Callable[[float], None] = time.sleep,
        poll_seconds: float = 5.0,
    ) -> None:
        self.s3 = s3
        self.cloudformation = cloudformation
        self.say = say
        self.install = install
        self.sleep = sleep
        self.poll_seconds = poll_seconds

    def dry_run(self, deployment: Deployment) -> None:
        """Print the uploads and the changes, changing nothing."""
        stack = self._stack(deployment.stack_name)
        _check_deployable(deployment.stack_name, stack["StackStatus"] if stack else None)
        for upload in self._all_uploads(deployment):
            self.say(f"would upload {_describe(upload)}")
        if stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS":
            self.say(f"would create stack {deployment.stack_name}:")
            old = None
        else:
            self.say(f"would update stack {deployment.stack_name} ({stack['StackStatus']}):")
            body = self.cloudformation.get_template(
                StackName=deployment.stack_name, TemplateStage="Original"
            )["TemplateBody"]
            old = body if isinstance(body, dict) else json.loads(body)
        changes = template_changes(old, deployment.export.template)
        for change in changes or ["no changes"]:
            self.say(f"  {change}")
        for name, value in deployment.parameters.items():
            self.say(f"  parameter {name} = {value}")

    def deploy(self, deployment: Deployment) -> Outcome:
        """Upload, create or update the stack, and follow it until it settles."""
        stack = self._stack(deployment.stack_name)
        status = stack["StackStatus"] if stack else None
        _check_deployable(deployment.stack_name, status)
        with tempfile.TemporaryDirectory(prefix="redstep-deploy-") as folder:
            for upload in self._all_uploads(deployment):
                self.say(f"upload {_describe(upload)}")
                self._put(deployment, upload, Path(folder))
        is_new = status in (None, "REVIEW_IN_PROGRESS")
        asked = json.dumps([deployment.template_text, deployment.parameters], sort_keys=True)
        digest = hashlib.sha256(asked.encode()).hexdigest()[:16]
        request: dict[str, Any] = {
            "StackName": deployment.stack_name,
            "ChangeSetName": f"redstep-{digest}",
            "ChangeSetType": "CREATE" if is_new else "UPDATE",
            "Parameters": [
                {"ParameterKey": name, "ParameterValue": value}
                for name, value in deployment.parameters.items()
            ],
            "Capabilities": CAPABILITIES,
            "Description": "redstep deploy",
        }
        if deployment.template_upload is None:
            request["TemplateBody"] = deployment.template_text
        else:
            request["TemplateURL"] = self._url(deployment.template_upload)
        change_set = self.cloudformation.create_change_set(**request)["Id"]
        described = self._settled_change_set(change_set, deployment.stack_name)
        if described["Status"] == "FAILED":
            # A failed change set stays until deleted, and would take the name of the next try.
            self.cloudformation.delete_change_set(
                ChangeSetName=change_set, StackName=deployment.stack_name
            )
            reason = described.get("StatusReason", "")
            if not any(words in reason for words in NO_CHANGES):
                raise DeployError(f"the change set failed: {reason}")
            self.say(f"stack {deployment.stack_name}: no changes")
            return Outcome(status or "REVIEW_IN_PROGRESS", is_changed=False)
        self.say(f"{'create' if is_new else 'update'} stack {deployment.stack_name}:")
        for change in described.get("Changes", []):
            self.say(f"  {_change_line(change.get('ResourceChange', {}))}")
        earlier = {event["EventId"] for event in self._events(deployment.stack_name)}
        self.cloudformation.execute_change_set(
            ChangeSetName=change_set, StackName=deployment.stack_name
        )
        return Outcome(self._follow(deployment.stack_name, earlier), is_changed=True)

    def _all_uploads(self, deployment: Deployment) -> list[Upload]:
        extra = [deployment.template_upload] if deployment.template_upload else []
        return [*deployment.uploads, *extra]

    def _put(self, deployment: Deployment, upload: Upload, folder: Path) -> None:
        if upload.package is not None:
            package = deployment.export.packages[upload.package]
            body = build_zip(package, folder / f"{package.name}.zip", self.install).read_bytes()
        elif upload.source is not None:
            body = upload.source.read_bytes()
        else:
            body = deployment.template_text.encode()
        self.s3.put_object(Bucket=upload.bucket, Key=upload.key, Body=body)

    def _url(self, upload: Upload) -> str:
        endpoint = self.s3.meta.endpoint_url.rstrip("/")
        return f"{endpoint}/{upload.bucket}/{upload.key}"

    def _stack(self, name: str) -> dict[str, Any] | None:
        """The stack's description; None when there is no such stack."""
        try:
            stacks = self.cloudformation.describe_stacks(StackName=name)["Stacks"]
        except self.cloudformation.exceptions.ClientError as error:
            if _is_missing_stack(error):
                return None
            raise
        return dict(stacks[0]) if stacks else None

    def _settled_change_set(self, change_set: str, stack_name: str) -> dict[str, Any]:
        while True:
            described: dict[str, Any] = self.cloudformation.describe_change_set(
                ChangeSetName=change_set, StackName=stack_name
            )
            if described["Status"] in ("CREATE_COMPLETE", "FAILED"):
                return described
            self.sleep(self.poll_seconds)

    def _events(self, stack_name: str) -> list[dict[str, Any]]:
        """The stack's latest events, newest first (none when it does not exist yet)."""
        try:
            events: list[dict[str, Any]] = self.cloudformation.describe_stack_events(
                StackName=stack_name
            )["StackEvents"]
        except self.cloudformation.exceptions.ClientError as error:
            if _is_missing_stack(error):
                return []
            raise
        return events

    def _follow(self, stack_name: str, seen: set[str]) -> str:
        """Print the stack's events not `seen` before, oldest first, until its status settles
        (anything but `…_IN_PROGRESS`)."""
        while True:
            for event in reversed(self._events(stack_name)):
                if event["EventId"] in seen:
                    continue
                seen.add(event["EventId"])
                reason = event.get("ResourceStatusReason")
                self.say(
                    f"  {event['Timestamp']:%H:%M:%S}  {event['ResourceStatus']:<20} "
                    f"{event['LogicalResourceId']}" + (f"  {reason}" if reason else "")
                )
            stack = self._stack(stack_name)
            status = str(stack["StackStatus"]) if stack else "DELETE_COMPLETE"
            if not status.endswith("_IN_PROGRESS"):
                for output in (stack or {}).get("Outputs", []):
                    self.say(f"  {output['OutputKey']} = {output['OutputValue']}")
                self.say(f"stack {stack_name}: {status}")
                return status
            self.sleep(self.poll_seconds)


def _is_missing_stack(error: Any) -> bool:
    """Whether CloudFormation's ClientError says the stack does not exist."""
    return "does not exist" in str(error.response.get("Error", {}).get("Message", ""))


def _check_deployable(name: str, status: str | None) -> None:
    """A stack that CloudFormation would not take a change set for, said before any upload."""
    if status in UNUSABLE:
        raise DeployError(
            f"stack {name} is {status}: CloudFormation cannot update it; delete it "
            f"(aws cloudformation delete-stack --stack-name {name}) and deploy again"
        )
    if status is not None and status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        raise DeployError(f"stack {name} is {status}: wait for it to settle, then deploy again")


def _change_line(change: dict[str, Any]) -> str:
    """One resource change of a change set, as the deployment prints it."""
    replacement = change.get("Replacement")
    line = f"{change.get('Action', '?'):<7} {change.get('LogicalResourceId')}  "
    line += str(change.get("ResourceType"))
    if replacement in ("True", "Conditional"):
        line += f"  (replacement: {replacement})"
    return line


def _describe(upload: Upload) -> str:
    if upload.package is not None:
        return f"the package of function {upload.package} to {upload.address}"
    if upload.source is None:
        return f"the template to {upload.address}"
    return f"{upload.source} to {upload.address}"
