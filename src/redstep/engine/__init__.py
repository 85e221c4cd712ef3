"""The deterministic core that runs a state machine: signals in, history events and commands out.

Nothing here reads a clock, draws a random number or touches a file: the time of each signal and
the execution's random seed are arguments, so a journal of signals replays to the same history.
"""
