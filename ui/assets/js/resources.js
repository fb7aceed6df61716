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
