// resources.js holds the resource arithmetic the client and topology pages
// share: what a client offers and what allocations reserve of it.

/** nodeCapacity returns a node's schedulable cpu (MHz) and memory (MiB). */
export function nodeCapacity(node) {
  const r = node.NodeResources || {};
  const reserved = node.ReservedResources || {};
  return {
    cpu: (r.Cpu?.CpuShares || node.Resources?.CPU || 0) - (reserved.Cpu?.CpuShares || 0),
    mem: (r.Memory?.MemoryMB || node.Resources?.MemoryMB || 0) - (reserved.Memory?.MemoryMB || 0),
  };
}

/** allocReservation sums the cpu (MHz) and memory (MiB) an allocation reserves. */
export function allocReservation(alloc) {
  const r = alloc.AllocatedResources;
  if (!r) return null;
  let cpu = 0;
  let mem = 0;
  for (const t of Object.values(r.Tasks || {})) {
    cpu += t.Cpu?.CpuShares || 0;
    mem += t.Memory?.MemoryMB || 0;
  }
  return { cpu, mem };
}

/** live is true for an allocation that holds its reservation. */
export const live = (a) => a.DesiredStatus === 'run' && (a.ClientStatus === 'running' || a.ClientStatus === 'pending');

/** allocDevices lists the device instances an allocation holds, as "vendor/type/model[ID]". */
export function allocDevices(alloc) {
  const out = [];
  for (const t of Object.values(alloc.AllocatedResources?.Tasks || {})) {
    for (const d of t.Devices || []) {
      for (const id of d.DeviceIDs || []) out.push(`${d.Vendor}/${d.Type}/${d.Name}[${id}]`);
    }
  }
  return out;
}

/** nodeDevices lists a node's device instances with their group and health. */
export function nodeDevices(node) {
  const out = [];
  for (const g of node.NodeResources?.Devices || []) {
    for (const i of g.Instances || []) {
      out.push({ group: `${g.Vendor}/${g.Type}/${g.Name}`, id: i.ID, healthy: i.Healthy, why: i.HealthDescription || '', bus: i.Locality?.PciBusID || '', attrs: g.Attributes || {} });
    }
  }
  return out;
}

/** attrText renders a device attribute as Nomad prints it: "40960 MiB". */
export function attrText(a) {
  if (!a) return '';
  const v = a.Int ?? a.Float ?? a.Bool ?? a.String ?? '';
  return a.Unit ? `${v} ${a.Unit}` : String(v);
}
