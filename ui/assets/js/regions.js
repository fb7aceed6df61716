// regions.js is the header's region switcher: with more than one region
// federated, it picks the region every view shows (the agent forwards the
// requests there), and names the datacenters of the region shown.
import { get, region, setRegion } from './api.js';

/**
 * regionSwitcher fills select with the known regions (the label around it
 * stays hidden while there is one), lists the shown region's datacenters
 * in dcs, and calls rerender when the person picks another region.
 */
export async function regionSwitcher(select, dcs, rerender) {
  const showDatacenters = async () => {
    try {
      const nodes = await get('/v1/nodes');
      const names = [...new Set((nodes || []).map((n) => n.Datacenter))].sort();
      dcs.textContent = names.length ? `Datacenters: ${names.join(', ')}` : '';
    } catch {
      dcs.textContent = '';
    }
  };
  let regions = [];
  let own = '';
  try {
    [regions, own] = await Promise.all([
      get('/v1/regions'),
      get('/v1/agent/self').then((self) => self?.config?.Region || self?.member?.Tags?.region || '').catch(() => ''),
    ]);
  } catch {
    regions = [];
  }
  if (region() && !regions.includes(region())) setRegion('');
  if (regions.length > 1) {
    select.replaceChildren(...regions.map((r) => new Option(r, r, false, r === (region() || own))));
    select.closest('label').hidden = false;
    select.addEventListener('change', () => {
      setRegion(select.value === own ? '' : select.value);
      showDatacenters();
      rerender();
    });
  }
  showDatacenters();
}
