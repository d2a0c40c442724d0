
      export type PossibleTypesResultData = {
  "possibleTypes": {
    "Event": [
      "CompleteEvent",
      "ErrorEvent",
      "PermissionRequestEvent",
      "PermissionResolvedEvent",
      "TextCompleteEvent",
      "TextDeltaEvent",
      "ToolResultEvent",
      "ToolStartEvent",
      "UserMessageEvent"
    ],
    "SessionEvent": [
      "CompleteEvent",
      "ErrorEvent",
      "PermissionRequestEvent",
      "PermissionResolvedEvent",
      "TextCompleteEvent",
      "TextDeltaEvent",
      "ToolResultEvent",
      "ToolStartEvent",
      "UserMessageEvent"
    ]
  }
};
      const result: PossibleTypesResultData = {
  "possibleTypes": {
    "Event": [
      "CompleteEvent",
      "ErrorEvent",
      "PermissionRequestEvent",
      "PermissionResolvedEvent",
      "TextCompleteEvent",
      "TextDeltaEvent",
      "ToolResultEvent",
      "ToolStartEvent",
      "UserMessageEvent"
    ],
    "SessionEvent": [
      "CompleteEvent",
      "ErrorEvent",
      "PermissionRequestEvent",
      "PermissionResolvedEvent",
      "TextCompleteEvent",
      "TextDeltaEvent",
      "ToolResultEvent",
      "ToolStartEvent",
      "UserMessageEvent"
    ]
  }
};
      export default result;
    