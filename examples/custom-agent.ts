import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type { Agent } from '../src/agents/types.js';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

/**
 * An agent of one's own: answers every message in capitals, word by word. A message that
 * starts with `!` first asks to run the rest as a shell command: a gated tool (nothing runs).
 */
export function createShoutAgent({ msPerWord = 30 } = {}): Agent {
  return {
    models: ['shout-1'],
    async *chat(turn) {
      if (turn.text.startsWith('!')) {
        const call = { toolUseId: randomUUID(), toolName: 'shell' };
        const command = turn.text.slice(1).trim();
        yield { type: 'tool_start', ...call, input: { command } };
        // In mode ASK the turn waits here (AWAITING_PERMISSION) for respondToPermission.
        const allowed = await turn.requestPermission({ ...call, command });
        yield { type: 'tool_result', ...call, result: allowed ? `would run: ${command}` : 'denied', isError: !allowed };
      }
      for (const word of turn.text.toUpperCase().split(/(?<=\s)/)) {
        yield { type: 'text', delta: word };
        await sleep(msPerWord, undefined, { signal: turn.signal }); // cancelTurn ends the wait
      }
      yield { type: 'text_end' };
    },
  };
}

// `npx tsx examples/custom-agent.ts` serves it like `npm start` does (PORT, HOST, DATA_DIR apply).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { port, host, dataDir } = loadConfig();
  const app = createApp({ port, host, dataDir, agent: createShoutAgent() });
  console.log(`Switchboard with the shout agent on ${(await app.start()).url}`);
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void app.stop().then(() => process.exit(0)));
}
