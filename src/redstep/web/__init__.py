"""The console of `redstep serve`: state machines as graphs, executions coloured live, statements.

`graph` says what a definition draws as, `layout` where (Graphviz), `layout_worker` runs the
layouts away from the server's threads, `progress` folds a history into each state's status,
`guard` signs the pages in and keeps other sites' requests out, `console` serves the pages.
"""

ROOT = "/_redstep"
"""Where the console's pages live on `redstep serve` (no bucket's name can start with `_`)."""
