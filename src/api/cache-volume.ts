// `CacheVolume`: a named directory that outlives sessions (package caches, a database's data).
import { assertVolumeName } from "../definition/index.js";

export class CacheVolume {
  readonly name: string;

  /** @internal Created by `client.cacheVolume(name)`. */
  constructor(name: string) {
    assertVolumeName(name);
    this.name = name;
  }
}
