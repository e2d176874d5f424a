// What a module offers `svc call`: its exported functions, each one's options (the members of its one options
// parameter) with their types, and the descriptions from JSDoc. Read with TypeScript's parser — syntax only, no
// type checking, the module's own file only — so it is fast and works for .js modules with JSDoc types too.
// Loaded lazily: `svc call fn` without arguments never pays for it.
import { readFileSync } from "node:fs";
import type TS from "typescript";
import { kebabCase } from "./names.js";

/** The kinds of value the command line converts to; anything else arrives as the string given. */
export type OptionKind = "string" | "number" | "boolean" | "service" | "string[]" | "number[]" | "other";

export interface OptionInfo {
  /** As in the module (camelCase). */
  name: string;
  /** As on the command line (kebab-case, without the leading `--`). */
  flag: string;
  kind: OptionKind;
  /** The type as written in the module, for `svc functions`. */
  typeText: string;
  optional: boolean;
  description?: string;
}

export interface FunctionInfo {
  name: string;
  command: string;
  description?: string;
  options: OptionInfo[];
  /** The return type as written, when it is. */
  returns?: string;
}

/** The exported functions of the module at `path`, in source order. */
export async function introspectModule(path: string): Promise<FunctionInfo[]> {
  const ts = (await import("typescript")).default;
  const kind = /\.(m|c)?jsx?$/.test(path) ? ts.ScriptKind.JS : /\.tsx$/.test(path) ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const source = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true, kind);
  return new Introspector(ts, source).functions();
}

class Introspector {
  readonly #ts: typeof TS;
  readonly #source: TS.SourceFile;
  /** Local interfaces and type aliases, for an options parameter typed by name. */
  readonly #types = new Map<string, TS.InterfaceDeclaration | TS.TypeAliasDeclaration>();

  constructor(ts: typeof TS, source: TS.SourceFile) {
    this.#ts = ts;
    this.#source = source;
    for (const st of source.statements) {
      if (ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) this.#types.set(st.name.text, st);
    }
  }

  functions(): FunctionInfo[] {
    const ts = this.#ts;
    const out: FunctionInfo[] = [];
    // Named exports only: a default export has no name `svc call` could take.
    const exported = (node: TS.Node) => {
      const mods = ts.canHaveModifiers(node) ? (ts.getModifiers(node) ?? []) : [];
      return mods.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) && !mods.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);
    };
    const local = new Map<string, { fn: TS.SignatureDeclaration; doc: TS.Node }>();
    for (const st of this.#source.statements) {
      if (ts.isFunctionDeclaration(st) && st.name && st.body) {
        local.set(st.name.text, { fn: st, doc: st });
        if (exported(st)) out.push(this.#describe(st.name.text, st, st));
      } else if (ts.isVariableStatement(st)) {
        for (const decl of st.declarationList.declarations) {
          const init = decl.initializer;
          if (!ts.isIdentifier(decl.name) || !init || !(ts.isArrowFunction(init) || ts.isFunctionExpression(init))) continue;
          local.set(decl.name.text, { fn: init, doc: st });
          if (exported(st)) out.push(this.#describe(decl.name.text, init, st));
        }
      } else if (ts.isExportDeclaration(st) && !st.moduleSpecifier && st.exportClause && ts.isNamedExports(st.exportClause)) {
        for (const el of st.exportClause.elements) {
          const found = local.get((el.propertyName ?? el.name).text);
          if (found) out.push(this.#describe(el.name.text, found.fn, found.doc));
        }
      }
    }
    return out;
  }

  #describe(name: string, fn: TS.SignatureDeclaration, docNode: TS.Node): FunctionInfo {
    const ts = this.#ts;
    const docs = ts.getJSDocCommentsAndTags(docNode).filter(ts.isJSDoc);
    const description = docs.map((d) => commentText(ts, d.comment)).filter(Boolean).join("\n") || undefined;
    const paramDocs = new Map<string, { type?: string; text?: string }>();
    const addTag = (tag: TS.JSDocPropertyLikeTag) => {
      const key = ts.isIdentifier(tag.name) ? tag.name.text : tag.name.right.text;
      const type = tag.typeExpression?.type;
      // `@param {object} opts` then `@param {number} opts.times`: TypeScript nests the members in a type literal.
      if (type && ts.isJSDocTypeLiteral(type)) {
        for (const member of type.jsDocPropertyTags ?? []) addTag(member);
        return;
      }
      paramDocs.set(key, { type: type?.getText(this.#source), text: commentText(ts, tag.comment)?.replace(/^-\s*/, "") });
    };
    for (const tag of ts.getJSDocTags(docNode)) if (ts.isJSDocParameterTag(tag)) addTag(tag);
    const info: FunctionInfo = { name, command: kebabCase(name), options: [] };
    if (description) info.description = description;
    if (fn.type) info.returns = fn.type.getText(this.#source);
    const param = fn.parameters[0];
    if (param) info.options = this.#options(param, paramDocs);
    return info;
  }

  /** The options of the one options parameter: from its type's members, else from its destructuring pattern. */
  #options(param: TS.ParameterDeclaration, paramDocs: Map<string, { type?: string; text?: string }>): OptionInfo[] {
    const ts = this.#ts;
    const members = this.#members(param.type);
    const defaults = new Set<string>();
    const bound: string[] = [];
    if (ts.isObjectBindingPattern(param.name)) {
      for (const el of param.name.elements) {
        const key = el.propertyName && ts.isIdentifier(el.propertyName) ? el.propertyName.text : ts.isIdentifier(el.name) ? el.name.text : undefined;
        if (!key) continue;
        bound.push(key);
        if (el.initializer) defaults.add(key);
      }
    }
    const wholeOptional = !!param.questionToken || !!param.initializer;
    const names = members ? [...members.keys()] : bound;
    return names.map((name) => {
      const member = members?.get(name);
      const doc = paramDocs.get(name);
      const typeText = member?.type?.getText(this.#source) ?? doc?.type ?? "string";
      const memberDoc = member ? ts.getJSDocCommentsAndTags(member).filter(ts.isJSDoc).map((d) => commentText(ts, d.comment)).filter(Boolean).join(" ") : "";
      const option: OptionInfo = {
        name,
        flag: kebabCase(name),
        kind: kindOf(typeText),
        typeText,
        optional: wholeOptional || defaults.has(name) || !!member?.questionToken,
      };
      const description = memberDoc || doc?.text;
      if (description) option.description = description;
      return option;
    });
  }

  #members(type: TS.TypeNode | undefined): Map<string, TS.PropertySignature> | undefined {
    const ts = this.#ts;
    if (!type) return undefined;
    let list: readonly TS.TypeElement[] | undefined;
    if (ts.isTypeLiteralNode(type)) list = type.members;
    else if (ts.isTypeReferenceNode(type) && ts.isIdentifier(type.typeName)) {
      const decl = this.#types.get(type.typeName.text);
      if (decl && ts.isInterfaceDeclaration(decl)) list = decl.members;
      else if (decl && ts.isTypeAliasDeclaration(decl) && ts.isTypeLiteralNode(decl.type)) list = decl.type.members;
    }
    if (!list) return undefined;
    const out = new Map<string, TS.PropertySignature>();
    for (const m of list) if (ts.isPropertySignature(m) && (ts.isIdentifier(m.name) || ts.isStringLiteral(m.name))) out.set(m.name.text, m);
    return out;
  }
}

function commentText(ts: typeof TS, comment: string | TS.NodeArray<TS.JSDocComment> | undefined): string | undefined {
  const text = typeof comment === "string" ? comment : comment ? ts.getTextOfJSDocComment(comment) : undefined;
  return text?.trim() || undefined;
}

/** How the command line converts a value for a type written as `typeText`. */
export function kindOf(typeText: string): OptionKind {
  const t = typeText.replace(/\s+/g, "").replace(/\|undefined$/, "").replace(/^undefined\|/, "");
  if (t === "string") return "string";
  if (t === "number") return "number";
  if (t === "boolean") return "boolean";
  if (t === "Service") return "service";
  if (t === "string[]" || t === "Array<string>" || t === "readonlystring[]") return "string[]";
  if (t === "number[]" || t === "Array<number>" || t === "readonlynumber[]") return "number[]";
  return "other";
}
