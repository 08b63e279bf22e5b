/**
 * The one PDF writer (invoices, compliance and executive reports): A4 pages with a title block,
 * headings, paragraphs, label/value lists and tables that break across pages with their header
 * repeated, and a footer "Page n of m" on every page. pdfkit's standard fonts (Helvetica) cover
 * Latin-1 only: text outside it is replaced by "?" here rather than drawn as garbage, so a report
 * never carries glyphs a reader would misread.
 */
import PDFDocument from 'pdfkit';

export interface PdfMeta {
  title: string;
  subject?: string;
  /** Shown under the title (the organization, a period). */
  subtitle?: string;
  /** Printed left of the page number in every footer. */
  footer?: string;
  /** The document's creation date (its metadata); defaults to now. */
  createdAt?: Date;
}

export interface PdfColumn {
  header: string;
  /** Share of the text width (the shares of a table's columns are scaled to fill it). */
  width: number;
  align?: 'left' | 'right' | 'center';
}

const FONT = 'Helvetica';
const BOLD = 'Helvetica-Bold';
const MUTED = '#555555';
const RULE = '#bbbbbb';

/** Latin-1 only (the standard fonts' WinAnsi encoding); anything else becomes "?". */
const EXTRA = new Set('€–—‘’“”•…');

export function pdfSafe(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (
      ch === '\n' ||
      ch === '\t' ||
      (code >= 0x20 && code < 0x7f) ||
      (code >= 0xa0 && code <= 0xff) ||
      EXTRA.has(ch)
    )
      out += ch;
    else out += code < 0x20 || (code >= 0x7f && code < 0xa0) ? ' ' : '?';
  }
  return out;
}

export class PdfWriter {
  readonly doc: PDFKit.PDFDocument;

  constructor(doc: PDFKit.PDFDocument) {
    this.doc = doc;
  }

  private get width(): number {
    const { page } = this.doc;
    return page.width - page.margins.left - page.margins.right;
  }

  private get left(): number {
    return this.doc.page.margins.left;
  }

  private get bottom(): number {
    return this.doc.page.height - this.doc.page.margins.bottom;
  }

  /** Starts a new page when fewer than `height` points are left on this one. */
  ensureSpace(height: number): this {
    if (this.doc.y + height > this.bottom) this.doc.addPage();
    return this;
  }

  heading(text: string, level: 1 | 2 = 1): this {
    const size = level === 1 ? 14 : 11.5;
    this.ensureSpace(size * 4);
    this.doc.moveDown(level === 1 ? 0.8 : 0.5);
    this.doc.font(BOLD).fontSize(size).fillColor('black');
    this.doc.text(pdfSafe(text), this.left, this.doc.y, { width: this.width });
    this.doc.moveDown(0.3);
    return this;
  }

  paragraph(text: string, options: { muted?: boolean; size?: number } = {}): this {
    this.doc
      .font(FONT)
      .fontSize(options.size ?? 10)
      .fillColor(options.muted ? MUTED : 'black');
    this.doc.text(pdfSafe(text), this.left, this.doc.y, { width: this.width });
    this.doc.moveDown(0.4).fillColor('black');
    return this;
  }

  /** Label: value lines, the labels in a column of their own. */
  keyValues(pairs: Array<[string, string]>, labelShare = 0.35): this {
    const labelWidth = this.width * labelShare;
    const valueWidth = this.width - labelWidth - 8;
    this.doc.fontSize(10);
    for (const [label, value] of pairs) {
      const l = pdfSafe(label);
      const v = pdfSafe(value);
      const h = Math.max(
        this.doc.font(BOLD).heightOfString(l, { width: labelWidth }),
        this.doc.font(FONT).heightOfString(v, { width: valueWidth }),
      );
      this.ensureSpace(h + 4);
      const y = this.doc.y;
      this.doc.font(BOLD).fillColor(MUTED).text(l, this.left, y, { width: labelWidth });
      this.doc
        .font(FONT)
        .fillColor('black')
        .text(v, this.left + labelWidth + 8, y, { width: valueWidth });
      this.doc.y = y + h + 3;
    }
    this.doc.x = this.left;
    this.doc.moveDown(0.3);
    return this;
  }

  /**
   * A table. Rows that do not fit start a new page, where the header is drawn again; an empty
   * table says `empty` instead of drawing a header with nothing under it.
   */
  table(columns: PdfColumn[], rows: string[][], empty = 'None.'): this {
    if (rows.length === 0) return this.paragraph(empty, { muted: true });
    const total = columns.reduce((sum, c) => sum + c.width, 0);
    const gap = 6;
    const widths = columns.map((c) => (c.width / total) * this.width - gap);
    const size = 9;
    const rowHeight = (cells: string[], font: string) => {
      this.doc.font(font).fontSize(size);
      return Math.max(
        ...cells.map((cell, i) => this.doc.heightOfString(pdfSafe(cell), { width: widths[i] ?? 10 })),
      );
    };
    const drawRow = (cells: string[], font: string, color: string) => {
      const h = rowHeight(cells, font);
      const y = this.doc.y;
      let x = this.left;
      this.doc.font(font).fontSize(size).fillColor(color);
      cells.forEach((cell, i) => {
        const width = widths[i] ?? 10;
        this.doc.text(pdfSafe(cell), x, y, { width, align: columns[i]?.align ?? 'left' });
        x += width + gap;
      });
      this.doc.y = y + h + 3;
      this.doc
        .moveTo(this.left, this.doc.y - 1.5)
        .lineTo(this.left + this.width, this.doc.y - 1.5)
        .lineWidth(0.5)
        .strokeColor(RULE)
        .stroke();
      this.doc.fillColor('black');
    };
    const header = columns.map((c) => c.header);
    const headerHeight = rowHeight(header, BOLD) + 4;
    this.ensureSpace(headerHeight + rowHeight(rows[0] ?? [], FONT) + 4);
    drawRow(header, BOLD, MUTED);
    for (const row of rows) {
      const h = rowHeight(row, FONT) + 4;
      if (this.doc.y + h > this.bottom) {
        this.doc.addPage();
        drawRow(header, BOLD, MUTED);
      }
      drawRow(row, FONT, 'black');
    }
    this.doc.x = this.left;
    this.doc.moveDown(0.5);
    return this;
  }
}

/**
 * Draws a document and returns its bytes. `draw` writes the body after the title block; the
 * footer is added to every page once the body is done (it needs the page count).
 */
export function renderPdf(meta: PdfMeta, draw: (pdf: PdfWriter) => void): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: 56, bottom: 64, left: 56, right: 56 },
    bufferPages: true,
    info: {
      Title: pdfSafe(meta.title),
      Subject: pdfSafe(meta.subject ?? meta.title),
      Creator: 'Gatehouse',
      Producer: 'Gatehouse',
      CreationDate: meta.createdAt ?? new Date(),
    },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const pdf = new PdfWriter(doc);
  doc.font(BOLD).fontSize(18).text(pdfSafe(meta.title));
  if (meta.subtitle) doc.font(FONT).fontSize(11).fillColor(MUTED).text(pdfSafe(meta.subtitle));
  doc.fillColor('black').moveDown(0.5);
  draw(pdf);
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    const { page } = doc;
    // Writing below the bottom margin would start a new page: lift the margin while the footer is drawn.
    const bottom = page.margins.bottom;
    page.margins.bottom = 0;
    const y = page.height - 40;
    const width = page.width - page.margins.left - page.margins.right;
    doc.font(FONT).fontSize(8).fillColor(MUTED);
    if (meta.footer) doc.text(pdfSafe(meta.footer), page.margins.left, y, { width, lineBreak: false });
    doc.text(`Page ${i - range.start + 1} of ${range.count}`, page.margins.left, y, {
      width,
      align: 'right',
      lineBreak: false,
    });
    page.margins.bottom = bottom;
  }
  doc.end();
  return done;
}
