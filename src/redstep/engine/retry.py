"""Retry and Catch: which handler takes a failure, and how long a retry waits."""

from __future__ import annotations

import math
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


#: The longest any retry waits: a standard execution lasts at most a year.
MAX_DELAY_SECONDS = 366 * 24 * 3600


def retry_delay(retrier: Retrier, attempts_made: int, random: Random) -> float:
    """Seconds before retry number `attempts_made + 1`.

    IntervalSeconds * BackoffRate ** attempts, capped by MaxDelaySeconds (and by the longest an
    execution may last); FULL jitter draws uniformly below that from the execution's seeded
    generator.
    """
    try:
        delay = retrier.interval_seconds * float(retrier.backoff_rate) ** attempts_made
    except OverflowError:  # a long retry-forever policy: the cap below is what counts
        delay = math.inf
    delay = min(delay, retrier.max_delay_seconds or math.inf, MAX_DELAY_SECONDS)
    if retrier.jitter_strategy is JitterStrategy.FULL:
        delay = random.uniform(0, delay)
    return float(delay)
