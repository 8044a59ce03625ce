import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from "yaml";

export interface YamlLocation {
  line: number;
  column: number;
}

/**
 * Finds where a value (or its key) sits in the YAML source, by walking the document along a
 * path of mapping keys and sequence indexes.
 *
 * Why walk the document instead of re-parsing: zod sees plain JS values with no positions,
 * but its issue paths are the same keys and indexes the YAML AST has. When the path leads to
 * something that does not exist (a missing required field), the key of the mapping that
 * lacks it is returned (`resources.x.title` missing → the line `x:`), which is where the
 * field has to be added.
 */
export function locateYamlNode(
  doc: Document,
  lineCounter: LineCounter,
  path: ReadonlyArray<string | number>,
  at: "key" | "value" = "value",
): YamlLocation {
  let node: unknown = doc.contents;
  let target: unknown = node;
  let parentKey: unknown = null;
  for (const [index, segment] of path.entries()) {
    if (isAlias(node)) node = node.resolve(doc);
    const step = childOf(node, segment);
    if (step === null) {
      target = parentKey ?? target;
      break;
    }
    const isLast = index === path.length - 1;
    // A key with no value (`resources:`) has a null value node; its key is the best anchor.
    target = isLast && at === "key" ? step.key ?? step.value : step.value ?? step.key ?? target;
    if (step.value === null || step.value === undefined) break;
    parentKey = step.key;
    node = step.value;
  }
  return positionOf(target, lineCounter);
}

interface Step {
  key: unknown;
  value: unknown;
}

function childOf(node: unknown, segment: string | number): Step | null {
  if (isMap(node)) {
    const pair = node.items.find((item) => keyText(item.key) === String(segment));
    return pair === undefined ? null : { key: pair.key, value: pair.value };
  }
  if (isSeq(node) && typeof segment === "number") {
    const item: unknown = node.items[segment];
    return item === undefined ? null : { key: item, value: item };
  }
  return null;
}

/** yaml's toJS turns scalar keys into strings the same way, so `1:` matches path segment "1". */
function keyText(key: unknown): string | null {
  if (isScalar(key)) return String(key.value);
  return null;
}

function positionOf(node: unknown, lineCounter: LineCounter): YamlLocation {
  const range = (node as Node | null | undefined)?.range;
  if (range === undefined || range === null) return { line: 1, column: 1 };
  const { line, col } = lineCounter.linePos(range[0]);
  return { line, column: col };
}
