import { describe, expect, it } from 'vitest';
import { expectPdfBytes, pdfPages } from '../../../../test/support/pdf.ts';
import { pdfSafe, renderPdf } from './pdf.ts';

describe('renderPdf', () => {
  it('writes a title, key values and a table whose rows run over pages, with a footer on every page', async () => {
    const rows = Array.from({ length: 120 }, (_, i) => [
      `member-${i}@example.com`,
      i % 2 ? 'Admin' : 'Viewer',
      `${i}`,
    ]);
    const bytes = await renderPdf(
      { title: 'Access review', subtitle: 'Acme — 2026-11', footer: 'Acme · SOC 2' },
      (pdf) => {
        pdf.heading('Summary').keyValues([
          ['Members', '120'],
          ['Organización', 'Año fiscal'],
        ]);
        pdf.heading('Members', 2).table(
          [
            { header: 'Email', width: 3 },
            { header: 'Role', width: 1 },
            { header: 'N', width: 0.5, align: 'right' },
          ],
          rows,
        );
        pdf.heading('Nothing here', 2).table([{ header: 'A', width: 1 }], [], 'No entries in the period.');
      },
    );
    expectPdfBytes(bytes);
    const pages = await pdfPages(bytes);
    expect(pages.length).toBeGreaterThan(2);
    expect(pages[0]).toContain('Access review');
    expect(pages[0]).toContain('Acme — 2026-11');
    expect(pages[0]).toContain('Organización Año fiscal');
    const all = pages.join('\n');
    for (const row of rows) expect(all).toContain(`${row[0]} ${row[1]} ${row[2]}`);
    expect(all).toContain('No entries in the period.');
    pages.forEach((text, i) => {
      expect(text).toContain(`Page ${i + 1} of ${pages.length}`);
      // The header is drawn again on every page the table continues on.
      if (i > 0 && i < pages.length - 1) expect(text).toContain('Email Role N');
    });
  });

  it('replaces what the standard fonts cannot draw instead of drawing garbage', () => {
    expect(pdfSafe('Acme 株式会社 😀\u0007ok')).toBe('Acme ???? ? ok');
    expect(pdfSafe('Ñandú — “quoted” €5')).toBe('Ñandú — “quoted” €5');
  });
});
