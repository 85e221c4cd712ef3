"""What can stop a project on its way to AWS, each with a message that says where and why.

ExportError   the project cannot be written as a template (something its code does cannot
              be granted, or two of its names would be one resource)
DeployError   the template cannot be deployed as asked (a parameter, the stack's state)
"""

from __future__ import annotations


class ExportError(ValueError):
    """The project cannot be exported as it is."""


class DeployError(Exception):
    """The deployment cannot go on."""
