// An optional native add-on that is never installed (ws's bufferutil, utf-8-validate): its require fails, as the
// library expects and catches, without reaching for a file on disk.
throw new Error("optional add-on not bundled");
