// Where the agent's entry point is and how Node must start it: from dist it is plain JavaScript; from src (tests,
// `tsx` users) it is TypeScript and needs tsx's loader, resolved from this package so that it is found whatever the
// engine's working directory is.
import { fileURLToPath } from "node:url";

/** The node arguments that run the agent: [...loader flags, entry file]. */
export interface AgentEntry {
  file: string;
  nodeArgs: string[];
}

/** Locates agent-main next to this module (same extension) and adds `--import tsx` only for a .ts file. */
export function agentEntry(moduleUrl: string = import.meta.url): AgentEntry {
  const ts = moduleUrl.endsWith(".ts");
  const file = fileURLToPath(new URL(ts ? "./agent-main.ts" : "./agent-main.js", moduleUrl));
  if (!ts) return { file, nodeArgs: [file] };
  let loader = "tsx";
  try {
    loader = import.meta.resolve("tsx");
  } catch {
    // Fall back to resolution from the agent's working directory.
  }
  return { file, nodeArgs: ["--import", loader, file] };
}
