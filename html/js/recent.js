/*
 * The chantiers this browser opened lately, for the employees' home page:
 * kept in localStorage (a convenience of this device, not an account's
 * history), the latest first, at most 6.
 */

const KEY = 'chantier.recent';
const KEEP = 6;

export function recentFiches() {
    try {
        const list = JSON.parse(localStorage.getItem(KEY) || '[]');
        return Array.isArray(list)
            ? list.filter((f) => f && Number.isInteger(f.id)) : [];
    } catch {
        return [];
    }
}

/* fiche: {id, chantier_id, title} of the fiche just shown */
export function rememberFiche(fiche) {
    const entry = {id: fiche.id, chantier_id: String(fiche.chantier_id || ''),
                   title: String(fiche.title || '')};
    const list = [entry, ...recentFiches().filter((f) => f.id !== fiche.id)];

    try {
        localStorage.setItem(KEY, JSON.stringify(list.slice(0, KEEP)));
    } catch {
        /* private browsing or a full storage: nothing to remember */
    }
}
