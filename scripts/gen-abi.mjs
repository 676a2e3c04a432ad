// Generates bindings/core/abi.generated.ts from assembly/abi.ts: the engine's
// ABI constants (errno values, enum indexes, codes, bit layouts) as plain TS
// constants with literal types, so the bindings read the values the engine
// compiles with, at no run-time cost. Run by `npm run build:bindings` before tsc;
// the output is git-ignored and rewritten on every build.
//
//   node scripts/gen-abi.mjs           writes the file
//   node scripts/gen-abi.mjs --check   exits 1 when the file is missing or stale
//
// assembly/abi.ts may hold only exported `const NAME: i32 = <expr>` whose
// <expr> is an integer literal, an earlier constant, or + - * | & ^ ~ << >> >>>
// of those; anything else is an error (the file must stay a table of numbers).
import ts from "typescript";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = new URL("..", import.meta.url);
export const ABI_SOURCE = fileURLToPath(new URL("assembly/abi.ts", here));
export const ABI_OUTPUT = fileURLToPath(new URL("bindings/core/abi.generated.ts", here));

const BINARY = {
  [ts.SyntaxKind.PlusToken]: (a, b) => a + b,
  [ts.SyntaxKind.MinusToken]: (a, b) => a - b,
  [ts.SyntaxKind.AsteriskToken]: (a, b) => a * b,
  [ts.SyntaxKind.BarToken]: (a, b) => a | b,
  [ts.SyntaxKind.AmpersandToken]: (a, b) => a & b,
  [ts.SyntaxKind.CaretToken]: (a, b) => a ^ b,
  [ts.SyntaxKind.LessThanLessThanToken]: (a, b) => a << b,
  [ts.SyntaxKind.GreaterThanGreaterThanToken]: (a, b) => a >> b,
  [ts.SyntaxKind.GreaterThanGreaterThanGreaterThanToken]: (a, b) => a >>> b,
};
const PREFIX = {
  [ts.SyntaxKind.MinusToken]: (a) => -a,
  [ts.SyntaxKind.PlusToken]: (a) => a,
  [ts.SyntaxKind.TildeToken]: (a) => ~a,
};

/** The text of `assembly/abi.ts` turned into the generated module's text. */
export function generateAbi(source, fileName = "assembly/abi.ts") {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const fail = (node, msg) => {
    const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    throw new Error(`${fileName}:${line + 1}:${character + 1}: ${msg}`);
  };
  const values = new Map();
  const evaluate = (e) => {
    if (ts.isNumericLiteral(e)) return Number(e.text);
    if (ts.isParenthesizedExpression(e)) return evaluate(e.expression);
    if (ts.isIdentifier(e)) {
      if (!values.has(e.text)) fail(e, `${e.text} is not a constant defined above`);
      return values.get(e.text);
    }
    if (ts.isPrefixUnaryExpression(e) && PREFIX[e.operator]) return PREFIX[e.operator](evaluate(e.operand));
    if (ts.isBinaryExpression(e) && BINARY[e.operatorToken.kind]) {
      return BINARY[e.operatorToken.kind](evaluate(e.left), evaluate(e.right));
    }
    return fail(
      e,
      `unsupported expression ${e.getText(sf)} (integer literals, constants and + - * | & ^ ~ << >> >>> only)`,
    );
  };
  /**
   * Comments to carry over: from the first section rule (`// ----`) on, the file's
   * header being about this file, and without the decorators' @ts-ignore lines
   * or the @group markers.
   */
  let inBody = false;
  const comments = (ranges) =>
    (ranges ?? [])
      .map((r) => source.slice(r.pos, r.end))
      .filter((c) => {
        if (/^\/\/ ----/.test(c)) inBody = true;
        return inBody && !/^\/\/\s*@ts-ignore/.test(c) && !/^\/\/\s*@group\b/.test(c);
      })
      .flatMap((c) => (/^\/\/ ----/.test(c) ? ["", c] : [c]));

  const out = [];
  const groups = [];
  let group = null;
  const startGroup = (name) => {
    group = { name, members: [] };
    groups.push(group);
  };
  const scanMarkers = (ranges) => {
    for (const r of ranges ?? []) {
      const c = source.slice(r.pos, r.end);
      const m = /^\/\/\s*@group\s+([A-Za-z_]\w*)\s*$/.exec(c);
      if (m) startGroup(m[1]);
      else if (/^\/\/ ----/.test(c)) group = null;
    }
  };

  for (const stmt of sf.statements) {
    const leading = ts.getLeadingCommentRanges(source, stmt.pos);
    scanMarkers(leading);
    if (!ts.isVariableStatement(stmt)) fail(stmt, "only exported constants are allowed in the ABI file");
    const mods = stmt.modifiers ?? [];
    const exported = mods.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    const others = mods.filter(
      (m) => m.kind !== ts.SyntaxKind.ExportKeyword && !(ts.isDecorator(m) && m.expression.getText(sf) === "inline"),
    );
    if (!exported || others.length > 0) fail(stmt, "a constant must be `export const` (optionally @inline)");
    if (!(stmt.declarationList.flags & ts.NodeFlags.Const)) fail(stmt, "only `const` declarations are allowed");
    for (const c of comments(leading)) out.push(c);
    for (const d of stmt.declarationList.declarations) {
      if (!ts.isIdentifier(d.name)) fail(d, "destructuring is not allowed");
      const name = d.name.text;
      if (values.has(name)) fail(d, `${name} is defined twice`);
      if (!d.type || d.type.getText(sf) !== "i32") fail(d, `${name} must be declared \`: i32\``);
      if (!d.initializer) fail(d, `${name} has no value`);
      const value = evaluate(d.initializer);
      if (!Number.isInteger(value) || (value | 0) !== value) fail(d, `${name} = ${value} is not an i32`);
      values.set(name, value);
      group?.members.push(name);
      const expr = d.initializer.getText(sf);
      const literal =
        ts.isNumericLiteral(d.initializer) ||
        (ts.isPrefixUnaryExpression(d.initializer) && ts.isNumericLiteral(d.initializer.operand));
      const trailing = comments(ts.getTrailingCommentRanges(source, stmt.end));
      const notes = [...(literal ? [] : [`// ${expr}`]), ...trailing];
      out.push(`export const ${name} = ${literal ? expr : String(value)};${notes.length ? " " + notes.join(" ") : ""}`);
    }
  }
  scanMarkers(ts.getLeadingCommentRanges(source, sf.endOfFileToken.pos));

  const groupText = groups.flatMap((g) => {
    if (g.members.length === 0) return [];
    return [
      "",
      `/** The ${g.name} constants above, as one object. */`,
      `export const ${g.name} = Object.freeze({`,
      ...g.members.map((n) => `  ${n},`),
      "} as const);",
    ];
  });
  return [
    "// Generated by scripts/gen-abi.mjs from assembly/abi.ts. Do not edit: change",
    "// assembly/abi.ts (the engine compiles with the same constants) and rebuild.",
    "",
    ...out,
    ...groupText,
    "",
  ]
    .join("\n")
    .replace(/\n{3,}/g, "\n\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = generateAbi(readFileSync(ABI_SOURCE, "utf8"));
  if (process.argv.includes("--check")) {
    let current = null;
    try {
      current = readFileSync(ABI_OUTPUT, "utf8");
    } catch {
      // missing: reported below as stale
    }
    if (current !== text) {
      console.error("bindings/core/abi.generated.ts is missing or stale: run `node scripts/gen-abi.mjs`");
      process.exit(1);
    }
  } else {
    writeFileSync(ABI_OUTPUT, text);
  }
}
