import { parseArgs } from "node:util";
import { GreenlightError } from "../../shared/errors.js";
import { settingsFrom, type ClientCommand, type ClientSettings } from "./settings.js";
import { COMMAND_WORDS, OPTIONS, type OptionName, type OptionSpec, type OptionTexts } from "./table.js";
import { closest } from "./closest.js";

type Env = Record<string, string | undefined>;

const entries = Object.entries(OPTIONS) as [OptionName, OptionSpec][];

const PARSE_OPTIONS = Object.fromEntries([
  ...entries.map(([name, spec]) => [
    name,
    { type: spec.boolean ? "boolean" : "string", ...(spec.multiple ? { multiple: true } : {}) },
  ]),
  ["help", { type: "boolean", short: "h" }],
]) as Record<string, { type: "boolean" | "string"; multiple?: boolean; short?: string }>;

/** `--service (or GREENLIGHT_SERVICE)`: how the CLI names an option in an error. */
export function spellFlag(name: OptionName): string {
  const env = (OPTIONS[name] as OptionSpec).env?.[0];
  return env ? `--${name} (or ${env})` : `--${name}`;
}

export type CliRequest = { command: "help"; explicit: boolean; about?: string } | ClientSettings;

/** Flags first, then GREENLIGHT_* variables, then the table's defaults. */
export async function readCliSettings(argv: string[], env: Env = process.env): Promise<CliRequest> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options: PARSE_OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message;
    const flag = /'(--?[\w-]+)'/.exec(message)?.[1];
    const known = [...entries.map(([name]) => name), "help"];
    const near = flag?.startsWith("--") ? closest(flag.slice(2), known) : undefined;
    const what = /^Unknown option/.test(message) && flag ? `unknown option ${flag}` : message;
    throw new GreenlightError(
      "USAGE",
      `${what}${near ? `; did you mean --${near}?` : ""} (see greenlight --help)`,
    );
  }
  const { values, positionals } = parsed;
  const word = positionals[0];
  if (values.help && word && (COMMAND_WORDS as readonly string[]).includes(word))
    return { command: "help", explicit: true, about: word };
  if (values.help || !word) return { command: "help", explicit: values.help === true };
  if (!(COMMAND_WORDS as readonly string[]).includes(word)) {
    const near = closest(word, COMMAND_WORDS);
    throw new GreenlightError(
      "USAGE",
      `unknown command "${word}"${near ? `; did you mean ${near}?` : ""} (commands: ${COMMAND_WORDS.join(", ")})`,
    );
  }
  const texts: OptionTexts = {};
  for (const [name, spec] of entries) {
    const flag = values[name];
    const fromEnv = spec.env
      ?.map((variable) => env[variable])
      .find((value) => value !== undefined && value !== "");
    const text =
      flag === undefined ? (fromEnv ?? spec.default) : Array.isArray(flag) ? flag.map(String) : String(flag);
    if (text !== undefined) texts[name] = text;
  }
  return settingsFrom(word as ClientCommand, texts, spellFlag, env);
}

/** The options part of `greenlight --help`, from the table. */
export function optionsHelp(width = 110, command?: string): string {
  const indent = 31;
  const wrap = (text: string): string => {
    const lines: string[] = [];
    let line = "";
    for (const word of text.split(" ")) {
      if (line && indent + line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    return [...lines, line].join(`\n${" ".repeat(indent)}`);
  };
  const takes = (spec: OptionSpec) =>
    !command || (spec.commands ? spec.commands.includes(command) : command !== "keygen");
  return entries
    .filter(([, spec]) => takes(spec))
    .map(([name, spec]) => {
      const head = `  --${name}${spec.value ? ` ${spec.value}` : ""}`;
      const extra = [
        spec.env ? `env ${spec.env.join(" or ")}` : "",
        spec.input ? `input ${spec.input}` : "",
        spec.default ? `default ${spec.default}` : "",
      ].filter(Boolean);
      const text = wrap(`${spec.help}${extra.length ? ` [${extra.join("; ")}]` : ""}`);
      return head.length < indent - 1
        ? `${head.padEnd(indent - 1)} ${text}`
        : `${head}\n${" ".repeat(indent)}${text}`;
    })
    .join("\n");
}
