import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * The text of each page of a PDF, as a reader's tool extracts it (pdf.js): what a test asserts
 * on is what a person copying from the document would get. Items on one line are joined by a
 * space, lines by "\n".
 */
export async function pdfPages(bytes: Uint8Array): Promise<string[]> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const doc = await pdfjs.getDocument({
    data: new Uint8Array(bytes),
    useSystemFonts: false,
    isEvalSupported: false,
    verbosity: 0,
  }).promise;
  const pages: string[] = [];
  for (let n = 1; n <= doc.numPages; n++) {
    const page = await doc.getPage(n);
    const content = await page.getTextContent();
    const lines: string[] = [];
    let line: string[] = [];
    let lastY: number | null = null;
    for (const item of content.items) {
      if (!('str' in item)) continue;
      const y = Math.round(item.transform[5] as number);
      if (lastY !== null && Math.abs(y - lastY) > 2 && line.length) {
        lines.push(line.join(' ').replace(/\s+/g, ' ').trim());
        line = [];
      }
      lastY = y;
      if (item.str.trim()) line.push(item.str);
    }
    if (line.length) lines.push(line.join(' ').replace(/\s+/g, ' ').trim());
    pages.push(lines.join('\n'));
  }
  await doc.destroy();
  return pages;
}

/** The whole text of a PDF, pages joined by a form feed. */
export async function pdfText(bytes: Uint8Array): Promise<string> {
  return (await pdfPages(bytes)).join('\n\f\n');
}

/** Checks the bytes are a PDF at all (header and trailer), before reading them. */
export function expectPdfBytes(bytes: Uint8Array): void {
  const head = Buffer.from(bytes.subarray(0, 5)).toString('latin1');
  const tail = Buffer.from(bytes.subarray(-8)).toString('latin1');
  if (head !== '%PDF-' || !tail.includes('%%EOF')) throw new Error('not a PDF document');
}

/**
 * A page of a PDF rendered to PNG by poppler's pdftoppm (Debian's poppler-utils), for a browser
 * test to show and screenshot. Returns the PNG's bytes.
 */
export async function pdfPagePng(bytes: Uint8Array, page = 1, dpi = 80): Promise<Buffer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gatehouse-pdf-'));
  try {
    const input = path.join(dir, 'doc.pdf');
    await fs.writeFile(input, bytes);
    const out = path.join(dir, 'page');
    await promisify(execFile)('pdftoppm', [
      '-png',
      '-r',
      String(dpi),
      '-f',
      String(page),
      '-l',
      String(page),
      '-singlefile',
      input,
      out,
    ]);
    return await fs.readFile(`${out}.png`);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
