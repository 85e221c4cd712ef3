"""Retry and Catch: which handler takes a failure, and how long a retry waits."""

from __future__ import annotations

from random import Random

from redstep.asl.errors import matches
from redstep.asl.model import Catcher, JitterStrategy, Retrier


def find_retrier(retriers: tuple[Retrier, ...], error: str | None) -> int | None:
    """The index of the first Retrier whose ErrorEquals handles `error`.

    Only the first match counts: when its attempts are spent the failure goes to Catch, even if a
    later Retrier would also match (States Language spec, "Retrying after error").
    """
    for index, retrier in enumerate(retriers):
        if matches(retrier.error_equals, error):
            return index
    return None


def find_catcher(catchers: tuple[Catcher, ...], error: str | None) -> Catcher | None:
    """The first Catcher whose ErrorEquals handles `error`."""
    for catcher in catchers:
        if matches(catcher.error_equals, error):
            return catcher
    return None


def retry_delay(retrier: Retrier, attempts_made: int, random: Random) -> float:
    """Seconds before retry number `attempts_made + 1`.

    IntervalSeconds * BackoffRate ** attempts, capped by MaxDelaySeconds; FULL jitter draws
    uniformly below that from the execution's seeded generator.
    """
    delay = retrier.interval_seconds * retrier.backoff_rate**attempts_made
    if retrier.max_delay_seconds is not None:
        delay = min(delay, retrier.max_delay_seconds)
    if retrier.jitter_strategy is JitterStrategy.FULL:
        delay = random.uniform(0, delay)
    return float(delay)
