/**
 * GraphiQL's first tabs: a walk-through from creating a session to watching a turn stream.
 * Shown until the user has tabs of their own (GraphiQL keeps them in local storage).
 */
export const graphiqlTabs = [
  // Lines stay under about 56 characters: that is what GraphiQL's editor pane shows
  // without scrolling in a 1400 px wide window, and a cut-off instruction is no walkthrough.
  {
    query: `# 1. Create a session. Run this (▶ or Ctrl-Enter),
# then open the next tab. (Sessions are kept: if "demo"
# exists already, CONFLICT says so; go on to tab 2.)
mutation CreateSession {
  createSession(
    input: { id: "demo", title: "Trying Switchboard" }
  ) {
    id
    status
  }
}
`,
  },
  {
    query: `# 2. Watch the session's events. Keep this running and
# open the next tab. "after: 0" replays every stored
# event first, then streams live ones.
subscription Watch {
  sessionEvents(sessionId: "demo", after: 0) {
    __typename
    ... on Event { seq turnId at }
    ... on UserMessageEvent { text }
    ... on TextDeltaEvent { delta }
    ... on TextCompleteEvent { text }
    ... on ToolStartEvent { toolName toolInput }
    ... on ToolResultEvent { result isError }
    ... on PermissionRequestEvent {
      request { requestId toolName command }
    }
    ... on PermissionResolvedEvent {
      requestId allowed resolution
    }
    ... on CompleteEvent { reason }
    ... on ErrorEvent { error }
  }
}
`,
  },
  {
    query: `# 3. Send a message: 200 tokens at 50 tokens/s. Back in
# tab 2 they arrive as about 20 results a second
# (deltas are joined in 50 ms windows).
mutation Send {
  sendMessage(
    input: { sessionId: "demo", text: "/stream 200 50" }
  ) {
    turnId
    queued
    session { status lastSeq }
  }
}
`,
  },
];
