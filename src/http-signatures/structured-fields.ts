/**
 * The subset of RFC 8941 Structured Field Values that HTTP Message Signatures
 * and Content-Digest need: Dictionaries, Inner Lists, Items with Parameters,
 * parsed and serialised strictly. Order is kept everywhere (Map and arrays),
 * because RFC 9421 signs the re-serialised Signature-Input member: a parser that
 * reordered parameters would break every signature.
 */
import { base64ToBytes, bytesToBase64 } from "./base64.ts";

export type BareItem =
  | { type: "integer"; value: number }
  | { type: "decimal"; value: number }
  | { type: "string"; value: string }
  | { type: "token"; value: string }
  | { type: "bytes"; value: Uint8Array }
  | { type: "boolean"; value: boolean };

/** Ordered parameters; keys are unique (a later duplicate overwrites in place, per RFC 8941). */
export type Parameters = Array<[string, BareItem]>;

export interface Item {
  kind: "item";
  value: BareItem;
  params: Parameters;
}

export interface InnerList {
  kind: "inner-list";
  items: Item[];
  params: Parameters;
}

export type Member = Item | InnerList;
export type Dictionary = Map<string, Member>;

export class StructuredFieldError extends Error {
  override readonly name = "StructuredFieldError";
}

// ---------------------------------------------------------------- parsing

class Cursor {
  pos = 0;
  constructor(readonly text: string) {}
  peek(): string {
    return this.text[this.pos] ?? "";
  }
  eof(): boolean {
    return this.pos >= this.text.length;
  }
  skipSp(): void {
    while (this.peek() === " ") this.pos++;
  }
  skipOws(): void {
    while (this.peek() === " " || this.peek() === "\t") this.pos++;
  }
  fail(what: string): never {
    throw new StructuredFieldError(`${what} at offset ${this.pos} of structured field`);
  }
}

const KEY_START = /[a-z*]/;
const KEY_CHAR = /[a-z0-9_\-.*]/;
const TOKEN_START = /[A-Za-z*]/;
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/;
const BASE64_CHAR = /[A-Za-z0-9+/=]/;

function parseKey(c: Cursor): string {
  if (!KEY_START.test(c.peek())) c.fail("expected a key");
  let key = "";
  while (!c.eof() && KEY_CHAR.test(c.peek())) key += c.text[c.pos++];
  return key;
}

function parseNumber(c: Cursor): BareItem {
  let sign = 1;
  if (c.peek() === "-") {
    sign = -1;
    c.pos++;
  }
  if (!/[0-9]/.test(c.peek())) c.fail("expected a digit");
  let digits = "";
  let isDecimal = false;
  while (!c.eof()) {
    const ch = c.peek();
    if (/[0-9]/.test(ch)) digits += ch;
    else if (ch === "." && !isDecimal) {
      if (digits.length > 12) c.fail("decimal has too many integer digits");
      isDecimal = true;
      digits += ch;
    } else break;
    c.pos++;
    if (!isDecimal && digits.length > 15) c.fail("integer is too long");
    if (isDecimal && digits.length > 16) c.fail("decimal is too long");
  }
  if (!isDecimal) return { type: "integer", value: sign * Number.parseInt(digits, 10) };
  if (digits.endsWith(".")) c.fail("decimal ends with '.'");
  if (digits.length - digits.indexOf(".") - 1 > 3) c.fail("decimal has more than 3 fraction digits");
  return { type: "decimal", value: sign * Number.parseFloat(digits) };
}

function parseString(c: Cursor): BareItem {
  c.pos++; // opening DQUOTE
  let out = "";
  for (;;) {
    if (c.eof()) c.fail("unterminated string");
    const ch = c.text[c.pos++] ?? "";
    if (ch === "\\") {
      const next = c.text[c.pos++] ?? "";
      if (next !== '"' && next !== "\\") c.fail("bad escape in string");
      out += next;
    } else if (ch === '"') {
      return { type: "string", value: out };
    } else {
      const code = ch.charCodeAt(0);
      if (code < 0x20 || code > 0x7e) c.fail("non-printable character in string");
      out += ch;
    }
  }
}

function parseToken(c: Cursor): BareItem {
  let out = "";
  while (!c.eof() && TOKEN_CHAR.test(c.peek())) out += c.text[c.pos++];
  return { type: "token", value: out };
}

function parseBytes(c: Cursor): BareItem {
  c.pos++; // opening ':'
  const start = c.pos;
  while (!c.eof() && c.peek() !== ":") {
    if (!BASE64_CHAR.test(c.peek())) c.fail("bad character in byte sequence");
    c.pos++;
  }
  if (c.eof()) c.fail("unterminated byte sequence");
  const b64 = c.text.slice(start, c.pos);
  c.pos++; // closing ':'
  try {
    return { type: "bytes", value: base64ToBytes(b64) };
  } catch {
    return c.fail("byte sequence is not valid base64");
  }
}

function parseBareItem(c: Cursor): BareItem {
  const ch = c.peek();
  if (ch === "-" || /[0-9]/.test(ch)) return parseNumber(c);
  if (ch === '"') return parseString(c);
  if (ch === ":") return parseBytes(c);
  if (ch === "?") {
    c.pos++;
    const v = c.text[c.pos++];
    if (v !== "0" && v !== "1") c.fail("bad boolean");
    return { type: "boolean", value: v === "1" };
  }
  if (TOKEN_START.test(ch)) return parseToken(c);
  return c.fail("expected an item");
}

function setParam(params: Parameters, key: string, value: BareItem): void {
  const existing = params.find(([k]) => k === key);
  if (existing) existing[1] = value;
  else params.push([key, value]);
}

function parseParameters(c: Cursor): Parameters {
  const params: Parameters = [];
  while (c.peek() === ";") {
    c.pos++;
    c.skipSp();
    const key = parseKey(c);
    let value: BareItem = { type: "boolean", value: true };
    if (c.peek() === "=") {
      c.pos++;
      value = parseBareItem(c);
    }
    setParam(params, key, value);
  }
  return params;
}

function parseItem(c: Cursor): Item {
  const value = parseBareItem(c);
  return { kind: "item", value, params: parseParameters(c) };
}

function parseInnerList(c: Cursor): InnerList {
  c.pos++; // '('
  const items: Item[] = [];
  for (;;) {
    c.skipSp();
    if (c.peek() === ")") {
      c.pos++;
      return { kind: "inner-list", items, params: parseParameters(c) };
    }
    if (c.eof()) c.fail("unterminated inner list");
    items.push(parseItem(c));
    const next = c.peek();
    if (next !== " " && next !== ")") c.fail("expected space or ')' in inner list");
  }
}

function parseMember(c: Cursor): Member {
  return c.peek() === "(" ? parseInnerList(c) : parseItem(c);
}

/** Parses a Dictionary field value (RFC 8941 §4.2.2). Throws StructuredFieldError. */
export function parseDictionary(text: string): Dictionary {
  const c = new Cursor(text);
  const dict: Dictionary = new Map();
  c.skipSp();
  if (c.eof()) return dict;
  for (;;) {
    const key = parseKey(c);
    let member: Member;
    if (c.peek() === "=") {
      c.pos++;
      member = parseMember(c);
    } else {
      member = { kind: "item", value: { type: "boolean", value: true }, params: parseParameters(c) };
    }
    dict.set(key, member);
    c.skipOws();
    if (c.eof()) return dict;
    if (c.peek() !== ",") c.fail("expected ',' between dictionary members");
    c.pos++;
    c.skipOws();
    if (c.eof()) c.fail("trailing ',' in dictionary");
  }
}

/** Parses a single Item (RFC 8941 §4.2.3), e.g. a component identifier `"@query-param";name="x"`. */
export function parseItemText(text: string): Item {
  const c = new Cursor(text);
  c.skipSp();
  const item = parseItem(c);
  c.skipSp();
  if (!c.eof()) c.fail("unexpected trailing characters");
  return item;
}

// ---------------------------------------------------------- serialisation

export function serializeBareItem(item: BareItem): string {
  switch (item.type) {
    case "integer":
      if (!Number.isInteger(item.value) || Math.abs(item.value) > 999_999_999_999_999) {
        throw new StructuredFieldError(`integer out of range: ${item.value}`);
      }
      return String(item.value);
    case "decimal": {
      const rounded = Math.round(item.value * 1000) / 1000;
      const text = String(rounded);
      return text.includes(".") ? text : `${text}.0`;
    }
    case "string":
      if (!/^[\x20-\x7e]*$/.test(item.value)) {
        throw new StructuredFieldError("string holds a non-printable or non-ASCII character");
      }
      return `"${item.value.replace(/[\\"]/g, (m) => `\\${m}`)}"`;
    case "token":
      return item.value;
    case "bytes":
      return `:${bytesToBase64(item.value)}:`;
    case "boolean":
      return item.value ? "?1" : "?0";
  }
}

export function serializeParameters(params: Parameters): string {
  let out = "";
  for (const [key, value] of params) {
    out += `;${key}`;
    if (!(value.type === "boolean" && value.value)) out += `=${serializeBareItem(value)}`;
  }
  return out;
}

export function serializeItem(item: Item): string {
  return serializeBareItem(item.value) + serializeParameters(item.params);
}

export function serializeInnerList(list: InnerList): string {
  return `(${list.items.map(serializeItem).join(" ")})${serializeParameters(list.params)}`;
}

export function serializeMember(member: Member): string {
  return member.kind === "item" ? serializeItem(member) : serializeInnerList(member);
}

export function serializeDictionary(dict: Dictionary): string {
  const parts: string[] = [];
  for (const [key, member] of dict) {
    if (member.kind === "item" && member.value.type === "boolean" && member.value.value) {
      parts.push(key + serializeParameters(member.params));
    } else {
      parts.push(`${key}=${serializeMember(member)}`);
    }
  }
  return parts.join(", ");
}
