// Renders Mermaid diagrams with the real renderer (mermaid-cli in headless
// Chromium), one browser for all of them:
//
//   node render.mjs OUT_DIR DIAGRAM.mmd...
//
// Writes OUT_DIR/<name>.svg for each diagram. Exits 1 on the first diagram
// Mermaid rejects, naming it and quoting Mermaid's error; 2 when the
// browser cannot start. The browser is CHROMIUM (default /usr/bin/chromium):
// npm cannot download one here, so Debian's is used.
import { readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";

import { renderMermaid } from "@mermaid-js/mermaid-cli";
import puppeteer from "puppeteer";

const [outDir, ...inputs] = process.argv.slice(2);
if (!outDir || inputs.length === 0) {
  console.error("usage: node render.mjs OUT_DIR DIAGRAM.mmd...");
  process.exit(2);
}

let browser;
try {
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // As root (CI) Chromium needs --no-sandbox; the rest keeps it off a
    // network this machine does not have.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
} catch (error) {
  console.error(`cannot start Chromium: ${error.message}`);
  process.exit(2);
}

let failed = false;
try {
  for (const input of inputs) {
    const definition = await readFile(input, "utf8");
    try {
      const { data } = await renderMermaid(browser, definition, "svg");
      await writeFile(join(outDir, basename(input, ".mmd") + ".svg"), data);
    } catch (error) {
      console.error(`${input}: Mermaid rejected the diagram:\n${error.message}`);
      failed = true;
      break;
    }
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
