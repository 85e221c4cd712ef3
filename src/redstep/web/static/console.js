// redstep's console: the live parts of its pages. Everything that comes from a definition, an
// input, an output, an error or a statement is written as text (textContent), never as markup.

const csrf = document.querySelector('meta[name="csrf-token"]').content;

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Redstep-Csrf": csrf },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(`${answer.error || response.status}: ${answer.message || response.statusText}`);
  }
  return answer;
}

function element(tag, text, className) {
  const made = document.createElement(tag);
  if (text !== undefined && text !== null) made.textContent = String(text);
  if (className) made.className = className;
  return made;
}

function say(message, isError) {
  const place = document.getElementById("action-message");
  if (!place) return;
  place.textContent = message;
  place.classList.toggle("error", Boolean(isError));
}

function pretty(jsonText) {
  if (jsonText === null || jsonText === undefined) return "";
  try {
    return JSON.stringify(JSON.parse(jsonText), null, 2);
  } catch {
    return String(jsonText);
  }
}

function section(title, text, className) {
  const part = element("section", undefined, className);
  part.append(element("h3", title), element("pre", text));
  return part;
}

function clip(text, length) {
  const line = String(text || "").replace(/\s+/g, " ").trim();
  return line.length > length ? `${line.slice(0, length - 1)}…` : line;
}

function seconds(value) {
  return value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(2)} s`;
}

// -- sign out ---------------------------------------------------------------------------------

const signOut = document.getElementById("sign-out");
signOut?.addEventListener("click", async () => {
  const response = await fetch(signOut.dataset.url, {
    method: "POST",
    headers: { "X-Redstep-Csrf": csrf },
    credentials: "same-origin",
    redirect: "manual",
  });
  if (response.type === "opaqueredirect" || response.ok) {
    location.assign(signOut.dataset.next);
  } else {
    signOut.textContent = "Sign out failed";
  }
});

// -- graphs: fitted to their pane, or at their own size ----------------------------------------------

for (const pane of document.querySelectorAll(".graph-scroll")) {
  const svg = pane.querySelector("svg.graph");
  const width = Number(svg.getAttribute("width"));
  const height = Number(svg.getAttribute("height"));
  let isFitted = true;
  const zoom = (scale) => {
    svg.setAttribute("width", String(Math.round(width * scale)));
    svg.setAttribute("height", String(Math.round(height * scale)));
  };
  const fit = () => zoom(Math.min(1, (pane.clientWidth - 2) / width));
  const controls = pane.parentElement.querySelector(".zoom");
  controls?.querySelector('[data-zoom="fit"]').addEventListener("click", () => {
    isFitted = true;
    fit();
  });
  controls?.querySelector('[data-zoom="1"]').addEventListener("click", () => {
    isFitted = false;
    zoom(1);
  });
  // Refitted whenever the pane's width changes (the window, or a state's details opening).
  new ResizeObserver(() => isFitted && fit()).observe(pane);
}

// -- a state machine: start an execution ---------------------------------------------------------

const start = document.getElementById("start");
if (start) {
  document.getElementById("start-execution").addEventListener("click", async (click) => {
    const input = document.getElementById("execution-input").value;
    try {
      JSON.parse(input);
    } catch (error) {
      say(`The input is not JSON: ${error.message}`, true);
      return;
    }
    click.target.disabled = true;
    try {
      const started = await post(start.dataset.url, {
        stateMachineArn: start.dataset.stateMachineArn,
        name: document.getElementById("execution-name").value.trim(),
        input,
      });
      location.assign(started.url);
    } catch (error) {
      say(error.message, true);
      click.target.disabled = false;
    }
  });
}

// -- an execution: the graph and the history, live ------------------------------------------------

const data = document.getElementById("execution-data");
if (data) {
  const execution = JSON.parse(data.textContent);
  const states = new Map();
  for (const node of document.querySelectorAll("svg.graph g.state")) {
    states.set(node.dataset.state, node);
  }
  const status = document.getElementById("execution-status");
  const history = document.querySelector("#history tbody");
  const stop = document.getElementById("stop-execution");
  const redrive = document.getElementById("redrive-execution");
  const started = Date.parse(execution.startDate);
  const duration = document.getElementById("execution-duration");
  const result = document.getElementById("execution-result");
  let shown = null; // the state whose details the panel shows
  let asked = 0; // answers to older requests than the last are dropped
  let source = null; // the history's event stream
  let refresh = null; // a pending refresh of the details shown

  function showStatus(value) {
    status.textContent = value;
    status.className = `status status-${value}`;
    stop.disabled = value !== "RUNNING";
    redrive.disabled = !["FAILED", "TIMED_OUT", "ABORTED"].includes(value);
  }

  // The events that end an execution, and what their details show.
  const ENDS = {
    ExecutionSucceeded: "Output",
    ExecutionFailed: "Error",
    ExecutionTimedOut: "Error",
    ExecutionAborted: "Error",
  };

  function addEvent(event) {
    const row = element("tr");
    row.dataset.eventId = event.id;
    row.append(
      element("td", event.id),
      element("td", event.type, "event-type"),
      element("td", event.step || ""),
      element("td", seconds((Date.parse(event.timestamp) - started) / 1000)),
      element("td", event.timestamp),
    );
    const cell = element("td");
    if (event.details) {
      const more = element("details");
      more.append(element("summary", "Show"), element("pre", JSON.stringify(event.details, null, 2)));
      cell.append(more);
    }
    row.append(cell);
    history.append(row);
    for (const [name, value] of Object.entries(event.changes)) {
      states.get(name)?.setAttribute("data-status", value);
    }
    if (event.type in ENDS) showEnd(event);
  }

  function showEnd(event) {
    duration.textContent = `· ran ${seconds((Date.parse(event.timestamp) - started) / 1000)}`;
    const details = event.details || {};
    const text = event.type === "ExecutionSucceeded"
      ? pretty(details.output)
      : `${details.error || ""}\n${details.cause || ""}`.trim();
    result.replaceChildren(section(ENDS[event.type], text, "execution-end"));
  }

  // The history from its first event: the graph, the table and the end as they are now, then
  // live. Connecting again (after a redrive) starts over.
  function connect() {
    source?.close();
    history.replaceChildren();
    result.replaceChildren();
    duration.textContent = "";
    for (const node of states.values()) node.setAttribute("data-status", "not-started");
    source = new EventSource(execution.events);
    source.onmessage = (message) => {
      const batch = JSON.parse(message.data);
      for (const event of batch.events) addEvent(event);
      showStatus(batch.status);
      const touches = (event) => event.step === shown || shown in event.changes;
      if (shown !== null && refresh === null && batch.events.some(touches)) {
        refresh = setTimeout(() => {
          refresh = null;
          showState(shown);
        }, 500);
      }
    };
    source.addEventListener("end", () => source.close());
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        say("Live updates stopped: reload the page (sign in again if the server restarted).", true);
      }
    };
  }
  connect();

  stop.addEventListener("click", async () => {
    stop.disabled = true;
    try {
      await post(execution.stop, { executionArn: execution.executionArn });
      say("Stopped");
    } catch (error) {
      say(error.message, true);
      stop.disabled = false;
    }
  });
  redrive.addEventListener("click", async () => {
    try {
      await post(execution.redrive, { executionArn: execution.executionArn });
      say("Redriven");
      connect();
    } catch (error) {
      say(error.message, true);
    }
  });

  // -- a state's details, on click --------------------------------------------------------------

  const detail = document.getElementById("state-detail");
  const detailName = document.getElementById("state-detail-name");
  const detailBody = document.getElementById("state-detail-body");

  function statementTable(statements) {
    const table = element("table", undefined, "list statements");
    table.id = "state-statements";
    const head = element("tr");
    for (const title of ["SQL", "Status", "Duration", "Rows", "Error"]) head.append(element("th", title));
    table.append(element("thead"), element("tbody"));
    table.tHead.append(head);
    for (const statement of statements) {
      const parts = statement.SubStatements?.length ? statement.SubStatements : [statement];
      for (const part of parts) {
        const row = element("tr");
        row.dataset.statementId = part.Id;
        const sql = element("td", undefined, "sql");
        const link = element("a", clip(part.QueryString, 200));
        link.title = part.QueryString;
        link.href = execution.statement + encodeURIComponent(statement.Id);
        sql.append(link);
        row.append(
          sql,
          element("td", part.Status, `status status-${part.Status}`),
          element("td", seconds((part.Duration || 0) / 1e9), "duration"),
          element("td", part.ResultRows >= 0 ? part.ResultRows : "", "rows"),
          element("td", part.Error || "", "error"),
        );
        table.tBodies[0].append(row);
      }
    }
    return table;
  }

  async function showState(name) {
    const request = ++asked;
    if (shown !== name) {
      detailName.textContent = name;
      detailBody.replaceChildren(element("p", "Loading…"));
    }
    shown = name;
    detail.hidden = false;
    let response;
    let state;
    try {
      response = await fetch(execution.state + encodeURIComponent(name), { credentials: "same-origin" });
      state = await response.json();
    } catch (error) {
      if (request === asked) detailBody.replaceChildren(element("p", `Could not load the state: ${error.message}`, "error"));
      return;
    }
    if (request !== asked) return;
    if (!response.ok) {
      detailBody.replaceChildren(element("p", `${state.error}: ${state.message}`, "error"));
      return;
    }
    const parts = [element("p", state.status.replace("-", " "), `state-status status-${state.status}`)];
    if (!state.visits.length) parts.push(element("p", "Not entered."));
    state.visits.forEach((visit, index) => {
      const visitPart = element("article", undefined, "visit");
      if (state.visits.length > 1) visitPart.append(element("h3", `Entry ${index + 1} of ${state.visits.length}`));
      const failure = visit.failures.at(-1);
      if (failure && visit.status !== "succeeded") {
        visitPart.append(section("Error", `${failure.error || ""}\n${failure.cause || ""}`.trim(), "detail-error"));
      }
      if (visit.retries) {
        const retries = element("section", undefined, "detail-retries");
        retries.append(element("h3", `Retries: ${visit.retries}`));
        const list = element("ol");
        for (const attempt of visit.failures.slice(0, visit.retries)) {
          list.append(element("li", `${attempt.timestamp} ${attempt.error || ""}: ${attempt.cause || ""}`));
        }
        retries.append(list);
        visitPart.append(retries);
      }
      if (visit.statements.length) {
        const statements = element("section", undefined, "detail-statements");
        statements.append(element("h3", "SQL statements"), statementTable(visit.statements));
        visitPart.append(statements);
      }
      visitPart.append(section("Input", pretty(visit.input), "detail-input"));
      if (visit.output !== null) visitPart.append(section("Output", pretty(visit.output), "detail-output"));
      parts.push(visitPart);
    });
    detailBody.replaceChildren(...parts);
  }

  for (const [name, node] of states) {
    node.addEventListener("click", () => showState(name));
    node.addEventListener("keydown", (key) => {
      if (key.key === "Enter" || key.key === " ") {
        key.preventDefault();
        showState(name);
      }
    });
  }
}
