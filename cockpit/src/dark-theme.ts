// Cockpit's dark theme, followed as its own pages follow it: the shell keeps the choice in
// localStorage "shell:style" (auto, light or dark) and every page of the origin hears a
// change as a "storage" event; "auto" is the browser's prefers-color-scheme. PatternFly 6
// switches its tokens to dark under <html class="pf-v6-theme-dark">.
const KEY = 'shell:style';

export function followCockpitTheme(): void {
  const prefersDark = window.matchMedia('(prefers-color-scheme: dark)');
  const apply = (style = localStorage.getItem(KEY) ?? 'auto') =>
    document.documentElement.classList.toggle('pf-v6-theme-dark', style === 'dark' || (style === 'auto' && prefersDark.matches));
  apply();
  window.addEventListener('storage', (e) => {
    if (e.key === KEY) apply();
  });
  // The shell's own frame is told with this event (a page does not hear its own storage writes).
  window.addEventListener('cockpit-style', (e) => apply((e as CustomEvent<{ style?: string }>).detail?.style));
  prefersDark.addEventListener('change', () => apply());
}
