import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

// zod's mini build sets no messages of its own ("Invalid input" for everything); a user fixing a config or
// reading a refusal needs the English ones the classic build sets (`Unrecognized key: "drian"`).
z.config(en());
