// How builders reach the engine without holding it: a Client (or the lazy `dag`) hands out the engine on demand.
import type { Engine } from "../definition/index.js";

export interface EngineSource {
  engine(): Promise<Engine>;
}
