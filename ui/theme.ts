// Light and dark: the system's choice (prefers-color-scheme) unless the user picked one, which
// localStorage remembers. Charts listen for `sluice:theme` to redraw in the new colours.
export type ThemeChoice = 'system' | 'light' | 'dark';

const STORAGE_KEY = 'sluice.theme';
const media = matchMedia('(prefers-color-scheme: dark)');

export function themeChoice(): ThemeChoice {
  const v = localStorage.getItem(STORAGE_KEY);
  return v === 'light' || v === 'dark' ? v : 'system';
}

/** The theme shown now. */
export const resolvedTheme = (): 'light' | 'dark' => {
  const c = themeChoice();
  return c === 'system' ? (media.matches ? 'dark' : 'light') : c;
};

export function setTheme(choice: ThemeChoice): void {
  if (choice === 'system') localStorage.removeItem(STORAGE_KEY);
  else localStorage.setItem(STORAGE_KEY, choice);
  apply();
}

function apply(): void {
  document.documentElement.dataset.theme = resolvedTheme();
  dispatchEvent(new Event('sluice:theme'));
}

export function initTheme(): void {
  document.documentElement.dataset.theme = resolvedTheme();
  media.addEventListener('change', () => themeChoice() === 'system' && apply());
}

/** A CSS colour variable resolved to what a canvas takes (`rgb(…)`). */
export function cssColor(name: string): string {
  const probe = document.createElement('span');
  probe.style.color = `var(${name})`;
  probe.style.display = 'none';
  document.body.append(probe);
  const c = getComputedStyle(probe).color;
  probe.remove();
  return c;
}

/** `rgb(r, g, b)` with an alpha. */
export function withAlpha(rgb: string, alpha: number): string {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(rgb);
  return m ? `rgba(${m[1]}, ${m[2]}, ${m[3]}, ${alpha})` : rgb;
}
