import { useEffect, useState } from 'react';

/** The open session from the URL (`/sessions/<id>`), or null on `/`. */
export function sessionIdOf(pathname: string): string | null {
  const match = /^\/sessions\/([^/]+)\/?$/.exec(pathname);
  return match ? decodeURIComponent(match[1]!) : null;
}

export function useRoute(): [string | null, (id: string | null) => void] {
  const [id, setId] = useState(() => sessionIdOf(location.pathname));
  useEffect(() => {
    const onPop = () => setId(sessionIdOf(location.pathname));
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  const navigate = (next: string | null) => {
    const path = next ? `/sessions/${encodeURIComponent(next)}` : '/';
    if (location.pathname !== path) history.pushState(null, '', path);
    setId(next);
  };
  return [id, navigate];
}
