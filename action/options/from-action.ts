import { GreenlightError } from "../../shared/errors.js";
import { settingsFrom, type ClientSettings } from "./settings.js";
import { OPTIONS, type OptionName, type OptionSpec, type OptionTexts } from "./table.js";

/** Reads a named input as the runner passes it (INPUT_<NAME>, upper-cased, hyphens kept). */
export type InputReader = (name: string) => string;

const ACTION_COMMANDS = ["deploy", "rollback", "status"] as const;

export function spellInput(name: OptionName): string {
  return `input "${(OPTIONS[name] as OptionSpec).input ?? name}"`;
}

export interface ActionSettings extends ClientSettings {
  environment?: string;
  environmentUrl?: string;
  githubToken?: string;
}

/** The Action's inputs through the same table and parser as the CLI's flags; only GitHub's own inputs are extra. */
export async function readActionSettings(input: InputReader): Promise<ActionSettings> {
  const get = (name: string) => input(name).trim();
  const command = get("command") || "deploy";
  if (!(ACTION_COMMANDS as readonly string[]).includes(command)) {
    throw new GreenlightError(
      "USAGE",
      `input "command" must be ${ACTION_COMMANDS.join(", ")}, not "${command}"`,
    );
  }
  const texts: OptionTexts = {};
  for (const [name, spec] of Object.entries(OPTIONS) as [OptionName, OptionSpec][]) {
    if (!spec.input) continue;
    const text = get(spec.input) || spec.default;
    if (text !== undefined) texts[name] = text;
  }
  // An Action has no ID token variable: keyless means asking the runner for one.
  const settings = await settingsFrom(command as (typeof ACTION_COMMANDS)[number], texts, spellInput, {});
  return {
    ...settings,
    ...(get("environment") ? { environment: get("environment") } : {}),
    ...(get("environment-url") ? { environmentUrl: get("environment-url") } : {}),
    ...(get("github-token") ? { githubToken: get("github-token") } : {}),
  };
}
