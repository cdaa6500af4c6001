/**
 * Number formatting for the README report: locale-free (the section must come out the same on
 * every machine), thousands grouped with commas, bytes in binary units.
 */

/** 1234567.891 → "1,234,568" (decimals 0) or "1,234,567.89" (decimals 2). */
export function grouped(value: number, decimals = 0): string {
  if (!Number.isFinite(value)) return 'n/a';
  const [whole = '', fraction] = Math.abs(value).toFixed(decimals).split('.');
  const sign = value < 0 && Number(whole + (fraction ?? '')) !== 0 ? '-' : '';
  const withCommas = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${withCommas}${fraction === undefined ? '' : `.${fraction}`}`;
}

/** Three significant figures in the largest binary unit that keeps the value ≥ 1: "9.31 TiB". */
export function binaryBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'n/a';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const decimals = unit === 0 ? 0 : Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(decimals)} ${units[unit] ?? '?'}`;
}

/** "1.080×" */
export function times(ratio: number, decimals = 2): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(decimals)}×` : 'n/a';
}

/** "2026-11-21 10:06:57 UTC" from an ISO timestamp. */
export function utcTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}
