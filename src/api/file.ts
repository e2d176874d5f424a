// `ContainerFile`: a lazy handle on one file of an evaluated container.
import { assertCallOptions, type CallOptions, type ContainerDef } from "../definition/index.js";
import type { EngineSource } from "./engine-source.js";

export class ContainerFile {
  readonly #source: EngineSource;
  readonly #def: ContainerDef;
  readonly path: string;

  /** @internal Created by `container.file(path)`. */
  constructor(source: EngineSource, def: ContainerDef, path: string) {
    this.#source = source;
    this.#def = def;
    this.path = path;
  }

  /** The file's contents as UTF-8 text. */
  async contents(options: CallOptions = {}): Promise<string> {
    assertCallOptions(options, "contents options");
    const engine = await this.#source.engine();
    return (await engine.readFile(this.#def, this.path, options)).toString("utf8");
  }
}
