/**
 * Applies the user's theme (`Config.theme`, free-form JSON): `mode` "dark" or "light" and an
 * `accent` (or `accentColor`) CSS colour; anything else is ignored.
 */
export function applyTheme(theme: unknown): void {
  const root = document.documentElement;
  const t = theme && typeof theme === 'object' ? (theme as Record<string, unknown>) : {};
  const mode = t.mode === 'dark' || t.mode === 'light' ? t.mode : null;
  if (mode) root.dataset.theme = mode;
  else delete root.dataset.theme;
  const accent = typeof t.accent === 'string' ? t.accent : typeof t.accentColor === 'string' ? t.accentColor : null;
  if (accent && CSS.supports('color', accent)) root.style.setProperty('--accent', accent);
  else root.style.removeProperty('--accent');
}
