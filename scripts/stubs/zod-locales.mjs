// English only: see the english-only-zod plugin in scripts/build.mjs.
export { default as en } from "zod/v4/locales/en.js";
